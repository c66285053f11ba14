"""scikit-learn side of bench/randomized-pca.ts: PCA(n_components=K, svd_solver='randomized', random_state=0) on a raw
float32 file of N rows, kept float32 as a user would pass it (scikit-learn then computes in float32 through BLAS).

    /usr/bin/python3 bench/randomized_pca.py FILE N K REPEATS

Prints one JSON object: {"seconds": [...], "peak_mb": ..., "ev": [...]} (explained_variance_ of the last fit).
"""
import json
import resource
import sys
import time

import numpy as np
from sklearn.decomposition import PCA

path, rows, k, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
X = np.fromfile(path, dtype=np.float32).reshape(rows, -1)
seconds = []
for _ in range(repeats):
    start = time.perf_counter()
    pca = PCA(n_components=k, svd_solver="randomized", random_state=0).fit(X)
    seconds.append(time.perf_counter() - start)
peak_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "ev": pca.explained_variance_.tolist()}))
