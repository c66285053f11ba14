/**
 * Documentation that cannot rot. Every fenced block in README.md or docs/*.md whose opening ```sh fence follows a line
 * `<!-- runnable -->` is run with bash (`set -euo pipefail`) in a fresh folder holding symlinks to the repository's
 * pipelines/, data/, examples/ and test/fixtures/ (so what the block writes, results/ or models/, never touches the
 * repository), with `npx pipeline …` and `pipeline …` running this checkout's built CLI; one test per block. Beside
 * them: the README stays a front page of at most 200 lines with its `npm test` block, every relative link leads to a
 * file (and a #fragment to a heading there), the commands users meet first each appear in a runnable block, and
 * docs/service.md lists every error code the service answers with.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../src/serve/errors.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(root, 'dist', 'src', 'cli', 'bin.js');
const PAGES = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const MARKER = '<!-- runnable -->';
/** Blocks run this many at a time (the machine has 2 cores; a block's commands already use both). */
const AT_ONCE = 2;
/** A block still running after this long is killed with its processes, and fails. */
const BLOCK_MS = 150_000;

/** `pipeline` and `npx pipeline` as this checkout's CLI; in a subshell (`&`, a pipe, `$(…)`) node replaces it, so
 * `$!` is node's pid and `kill $!` reaches it. Any other npx use is refused: a block must not fetch packages. */
const PRELUDE = `set -euo pipefail
pipeline() {
  if [[ $BASHPID != "$$" ]]; then exec node "$DOCS_TEST_CLI" "$@"; fi
  node "$DOCS_TEST_CLI" "$@"
}
npx() {
  if [[ \${1:-} == pipeline ]]; then
    shift
    pipeline "$@"
    return
  fi
  echo "docs test: only 'npx pipeline …' runs here (the block asked for: npx $*)" >&2
  return 127
}
`;

interface Block {
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
}

function pageText(page: string): string {
  return readFileSync(join(root, page), 'utf8');
}

/** The runnable blocks of a page, and the markers that stand anywhere but just before a ```sh fence. */
function runnableBlocks(page: string): { blocks: Block[]; misplaced: number[] } {
  const lines = pageText(page).split('\n');
  const blocks: Block[] = [];
  const misplaced: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== MARKER) continue;
    if (lines[i + 1] !== '```sh') {
      misplaced.push(i + 1);
      continue;
    }
    const end = lines.findIndex((l, j) => j > i + 1 && l.startsWith('```'));
    if (end < 0) {
      misplaced.push(i + 1);
      continue;
    }
    blocks.push({ page, line: i + 2, code: lines.slice(i + 2, end).join('\n') });
  }
  return { blocks, misplaced };
}

const found = PAGES.map(runnableBlocks);
const blocks = found.flatMap((f) => f.blocks);

/** A folder like a checkout's to run a block in: the inputs linked, nothing else. */
function workFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-docs-'));
  for (const name of ['pipelines', 'data', 'examples']) symlinkSync(join(root, name), join(dir, name));
  mkdirSync(join(dir, 'test'));
  symlinkSync(join(root, 'test', 'fixtures'), join(dir, 'test', 'fixtures'));
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Whether any process of the group is still there. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Processes the block started and left running (a server not stopped). */
  leftRunning: boolean;
  ms: number;
}

/** Runs a block with bash in its own process group; whatever it leaves running is stopped afterwards. */
async function runBlock(block: Block, cwd: string): Promise<Outcome> {
  const port = await freePort();
  const started = Date.now();
  const child = spawn('bash', ['-c', PRELUDE + block.code + '\n'], {
    cwd,
    env: { ...process.env, DOCS_TEST_CLI: CLI, PORT: String(port) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = child.pid!;
  let stdout = '';
  let stderr = '';
  const keep = (s: string, chunk: Buffer) => (s + chunk.toString('utf8')).slice(-64 * 1024);
  child.stdout!.on('data', (c: Buffer) => (stdout = keep(stdout, c)));
  child.stderr!.on('data', (c: Buffer) => (stderr = keep(stderr, c)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(pgid, 'SIGKILL');
  }, BLOCK_MS);
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) =>
    child.once('exit', (code, sig) => done([code, sig])),
  );
  clearTimeout(timer);
  // bash has ended; its background children are reaped within moments, unless they still run
  let leftRunning = groupAlive(pgid);
  for (let waited = 0; leftRunning && waited < 2000; waited += 100) {
    await sleep(100);
    leftRunning = groupAlive(pgid);
  }
  if (leftRunning) {
    killGroup(pgid, 'SIGTERM');
    await sleep(2000);
    killGroup(pgid, 'SIGKILL');
  }
  return { status, signal, stdout, stderr, timedOut, leftRunning, ms: Date.now() - started };
}

/** At most AT_ONCE blocks at a time, in page order. */
let running = 0;
const waiting: Array<() => void> = [];
async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= AT_ONCE) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const tail = (text: string, lines: number) => text.trimEnd().split('\n').slice(-lines).join('\n');

for (const block of blocks) {
  test(`${block.page}:${block.line} runs as written`, async (t) => {
    t.timeout(BLOCK_MS + 60_000);
    const cwd = workFolder();
    const outcome = await slot(() => runBlock(block, cwd));
    const ok = outcome.status === 0 && !outcome.timedOut && !outcome.leftRunning;
    const how = outcome.timedOut
      ? `was stopped after ${BLOCK_MS / 1000} s`
      : outcome.leftRunning
        ? 'left processes running (stop what the block starts)'
        : `exited with ${outcome.status ?? outcome.signal}`;
    t.true(
      ok,
      `${block.page}:${block.line} ${how} in ${(outcome.ms / 1000).toFixed(1)} s (its folder is kept: ${cwd})\n` +
        `--- the block ---\n${block.code}\n--- stderr, last lines ---\n${tail(outcome.stderr, 40)}\n` +
        `--- stdout, last lines ---\n${tail(outcome.stdout, 15)}`,
    );
    t.log(`${(outcome.ms / 1000).toFixed(1)} s`);
    if (ok) rmSync(cwd, { recursive: true, force: true });
  });
}

test('every runnable marker stands just before a ```sh fence', (t) => {
  const misplaced = found.flatMap((f, i) => f.misplaced.map((line) => `${PAGES[i]}:${line}`));
  t.deepEqual(misplaced, [], `markers not followed by a sh block: ${misplaced.join(', ')}`);
  t.true(blocks.length > 0, 'no runnable block found');
});

test('the commands a reader meets first each appear in a runnable block', (t) => {
  for (const command of ['run', 'grid', 'compare', 'show', 'predict', 'serve']) {
    const pattern = new RegExp(`(^|[\\s;&|(])(npx\\s+)?pipeline\\s+${command}\\b`, 'm');
    t.true(
      blocks.some((b) => pattern.test(b.code)),
      `no runnable block runs \`pipeline ${command}\``,
    );
  }
});

test('README.md is a front page: at most 200 lines, linking every docs page, its test command `npm test`', (t) => {
  const readme = pageText('README.md');
  const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0);
  t.true(lines <= 200, `README.md has ${lines} lines`);
  for (const page of PAGES.filter((p) => p.startsWith('docs/')))
    t.true(readme.includes(`](${page})`), `README.md does not link ${page}`);
  const shBlocks = [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  t.true(
    shBlocks.some((code) => /^npm test(\s|$)/m.test(code)),
    'README.md has no ```sh block with `npm test` (CI runs the README test command)',
  );
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2… */
function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of withoutCode(pageText(page)).split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1]
      .replace(/`/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** The page without fenced blocks and code spans, whose brackets are not links (headings keep their text). */
function withoutCode(text: string): string {
  return text
    .replace(/^```[\s\S]*?^```$/gm, (block) => block.replace(/[^\n]/g, ''))
    .replace(/`[^`\n]*`/g, (span) => (span.includes('](') ? '``' : span));
}

test('every relative link in README.md and docs/*.md leads to a file in the repository, and each #fragment to a heading', (t) => {
  const broken: string[] = [];
  let checked = 0;
  for (const page of PAGES) {
    const text = withoutCode(pageText(page));
    for (const match of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      checked++;
      const [path, fragment] = target.split('#');
      const file = path === '' ? join(root, page) : resolve(root, dirname(page), decodeURIComponent(path));
      const where = relative(root, file);
      if (where.startsWith('..')) {
        broken.push(`${page}: ${target} points outside the repository`);
        continue;
      }
      if (!existsSync(file)) {
        broken.push(`${page}: ${target} (no ${where})`);
        continue;
      }
      if (fragment && file.endsWith('.md') && !anchors(where).has(fragment))
        broken.push(`${page}: ${target} (no heading #${fragment} in ${where})`);
    }
  }
  t.true(checked > 50, `only ${checked} links found`);
  t.deepEqual(broken, []);
});

test('docs/service.md lists every error code the service answers with, with its status', (t) => {
  const service = pageText('docs/service.md');
  for (const [code, { status }] of Object.entries(ERROR_CODES))
    t.true(service.includes(`| \`${code}\` | ${status} |`), `docs/service.md: no row for ${code} (${status})`);
});
