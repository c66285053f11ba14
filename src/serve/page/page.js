/* global document, fetch, URL */
// The page at /: each chosen or dropped photo goes to POST /predict and POST /similar as its raw bytes.

const input = document.getElementById('files');
const drop = document.getElementById('drop');
const results = document.getElementById('results');
const template = document.getElementById('card');

/** What the model sees of a photo, e.g. "64×64 colour", from GET /model's input. */
let seen = '28×28';

fetch('model')
  .then((r) => r.json())
  .then((m) => {
    const accuracy = m.test_accuracy === null ? '' : `, ${(m.test_accuracy * 100).toFixed(1)} % right on the test set`;
    const rows = m.training.rows.toLocaleString('en');
    const photos = m.input.kind === 'photo';
    seen = `${m.input.width}×${m.input.height}${m.input.channels === 3 ? ' colour' : ' grey'}`;
    document.getElementById('model').textContent =
      `Model: ${m.name}, trained on ${rows} ${photos ? 'photos' : 'images'}${accuracy}. Classes: ${m.classes.join(', ')}.`;
    document.getElementById('trained-on').textContent = photos
      ? ` trained on labelled photos; each photo is resized to ${seen} before it is classified`
      : " trained on Fashion-MNIST's 28×28 greyscale images: each photo is turned into one of those before it is classified";
  })
  .catch(() => {
    document.getElementById('model').textContent = 'The model could not be reached.';
  });

input.addEventListener('change', () => {
  classifyAll(input.files);
  input.value = '';
});
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  classifyAll(e.dataTransfer.files);
});

function classifyAll(files) {
  for (const file of Array.from(files)) classify(file);
}

async function post(path, file) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': file.type || 'application/octet-stream' },
    body: file,
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.message : `HTTP ${response.status}`);
  return body;
}

async function classify(file) {
  const card = template.content.firstElementChild.cloneNode(true);
  const q = (selector) => card.querySelector(selector);
  q('.file').textContent = file.name;
  const photo = q('.photo');
  photo.src = URL.createObjectURL(file);
  photo.alt = `Your photo ${file.name}`;
  q('.predicted').textContent = 'Classifying…';
  card.setAttribute('aria-busy', 'true');
  results.prepend(card);
  try {
    const answer = await post('predict?image=1&top=3', file);
    const image = answer.images[0];
    q('.seen').src = image.image;
    q('.seen-caption').textContent = `What the model saw (${seen})`;
    q('.seen').alt =
      `The ${seen} image the model saw${image.inverted ? ' (negated: the garment was darker than its background)' : ''}`;
    q('.predicted').textContent = image.class;
    q('.confidence').textContent = image.confidence === null ? '' : `${(image.confidence * 100).toFixed(0)} % sure`;
    q('.unfamiliar').hidden = image.unfamiliar !== true;
    const bars = q('.bars');
    for (const p of image.probabilities ?? []) {
      const li = document.createElement('li');
      if (p.label === image.label) li.className = 'top';
      const name = document.createElement('span');
      name.textContent = p.class;
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.setAttribute('aria-hidden', 'true');
      const fill = document.createElement('span');
      fill.style.width = `${(p.probability * 100).toFixed(1)}%`;
      bar.append(fill);
      const pct = document.createElement('span');
      pct.className = 'pct';
      pct.textContent = `${(p.probability * 100).toFixed(0)} %`;
      li.append(name, bar, pct);
      bars.append(li);
    }
  } catch (err) {
    q('.predicted').textContent = 'Not classified';
    q('.error').textContent = err.message;
    q('.error').hidden = false;
    card.removeAttribute('aria-busy');
    return;
  }
  card.removeAttribute('aria-busy');
  try {
    const near = await post('similar?n=8&image=1', file);
    const strip = q('.similar');
    for (const item of near.images[0].similar) {
      const li = document.createElement('li');
      const img = document.createElement('img');
      img.src = item.image;
      img.alt = `${item.class}, distance ${item.distance.toFixed(2)}`;
      const caption = document.createElement('span');
      caption.textContent = item.class;
      li.append(img, caption);
      strip.append(li);
    }
    q('.similar-heading').hidden = false;
  } catch {
    // no catalogue yet (still being computed) or none: the strip stays empty
  }
}
