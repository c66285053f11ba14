"""The photo preparation of pipelines/clothing.yaml in PIL + scikit-image, for bench/photo-features.ts.

Reads every photo of the folders given, decodes and resizes it to 64×64 RGB (PIL, bilinear), then computes colour HOG
at three scales (skimage hog, 12 orientations, 8-, 16- and 32-pixel cells, channel_axis) and the 8×4×4 HSV histogram
(rgb2hsv + numpy histogramdd). Prints one JSON
line: photos, seconds (median of --repeats) and feature width. Single process, as scikit-image runs it.
"""
import glob, json, os, sys, time
import numpy as np
from PIL import Image
from skimage.color import rgb2hsv
from skimage.feature import hog

folders = [a for a in sys.argv[1:] if not a.startswith('--')]
repeats = int(next((a.split('=')[1] for a in sys.argv if a.startswith('--repeats=')), '3'))
files = sorted(f for d in folders for f in glob.glob(os.path.join(d, '*', '*')))
times = []
for _ in range(repeats):
    t = time.perf_counter()
    rows = []
    for f in files:
        im = np.asarray(Image.open(f).convert('RGB').resize((64, 64), Image.BILINEAR)).astype(np.float64)
        hogs = [hog(im, orientations=12, pixels_per_cell=(c, c), cells_per_block=(2, 2), channel_axis=-1) for c in (8, 16, 32)]
        hist, _ = np.histogramdd(rgb2hsv(im / 255).reshape(-1, 3), bins=(8, 4, 4), range=((0, 1),) * 3)
        rows.append(np.concatenate([*hogs, hist.ravel() / 4096]))
    times.append(time.perf_counter() - t)
print(json.dumps({'photos': len(files), 'seconds': sorted(times)[len(times) // 2], 'features': len(rows[0])}))
