"""The photo preparation of pipelines/clothing.yaml in PIL + scikit-image, for bench/photo-features.ts.

Reads every photo of the folders given, decodes and resizes it to 64×64 RGB (PIL, bilinear), then computes colour HOG
at three scales (skimage hog, 12 orientations, 8-, 16- and 32-pixel cells, channel_axis), uniform LBP of the grey
image (rgb2gray · 255; local_binary_pattern at 8 neighbours radius 1 and 16 radius 2, counted per 16-pixel cell) and
the 8×4×4 HSV histogram (rgb2hsv + numpy histogramdd). Prints one JSON
line: photos, seconds (median of --repeats) and feature width. Single process, as scikit-image runs it.
"""
import glob, json, os, sys, time
import numpy as np
from PIL import Image
from skimage.color import rgb2gray, rgb2hsv
from skimage.feature import hog, local_binary_pattern

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
        grey = rgb2gray(im / 255) * 255
        textures = []
        for points, radius in ((8, 1), (16, 2)):
            codes = local_binary_pattern(grey, points, radius, 'uniform').astype(np.int64)
            cells = codes.reshape(4, 16, 4, 16).transpose(0, 2, 1, 3).reshape(16, 256)
            textures += [np.bincount(cell, minlength=points + 2) / 256 for cell in cells]
        hist, _ = np.histogramdd(rgb2hsv(im / 255).reshape(-1, 3), bins=(8, 4, 4), range=((0, 1),) * 3)
        rows.append(np.concatenate([*hogs, *textures, hist.ravel() / 4096]))
    times.append(time.perf_counter() - t)
print(json.dumps({'photos': len(files), 'seconds': sorted(times)[len(times) // 2], 'features': len(rows[0])}))
