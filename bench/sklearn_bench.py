"""scikit-learn side of `npm run bench -- --vs-sklearn`: the same data files, the same pipelines, timed the same way.

Run with Debian's python3 (python3-sklearn). Prints one JSON object per line on stdout:
{"task": ..., "seconds": [...], "accuracy": ..., "peak_rss_mb": ...}
"""
import argparse
import gzip
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndims = data[3]
    dims = struct.unpack(">" + "I" * ndims, data[4 : 4 + 4 * ndims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndims).reshape(dims)


def load(folder):
    def part(name):
        for suffix in (".gz", ""):
            p = os.path.join(folder, name + suffix)
            if os.path.exists(p):
                return read_idx(p)
        raise SystemExit(f"missing {name} in {folder}")

    Xtr = part("train-images-idx3-ubyte").reshape(-1, 784).astype(np.float32)
    ytr = part("train-labels-idx1-ubyte")
    Xte = part("t10k-images-idx3-ubyte").reshape(-1, 784).astype(np.float32)
    yte = part("t10k-labels-idx1-ubyte")
    return Xtr, ytr, Xte, yte


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, repeats):
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def emit(task, seconds, accuracy=None, **extra):
    print(json.dumps({"task": task, "seconds": seconds, "accuracy": accuracy, "peak_rss_mb": round(peak_mb()), **extra}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tasks", default="pca-fit,pca-fit-standard,knn-predict,rf-pca-fit,rf-raw-fit,svm,svm-256,run-pca-rf")
    ap.add_argument("--pipeline", help="a pipeline YAML file: fit on the 60k training images, predict the 10k test images")
    ap.add_argument("--grid", help="a pipeline YAML file with a grid: GridSearchCV (memory on), refit, test")
    args = ap.parse_args()
    tasks = set(args.tasks.split(","))
    Xtr, ytr, Xte, yte = load(args.data)
    if args.pipeline:
        # pixels 0..255, as our pipelines receive them; the file's own steps scale them
        from sklearn_pipeline import from_file

        name, pipe = from_file(args.pipeline)
        t0 = time.perf_counter()
        pred = pipe.fit(Xtr, ytr).predict(Xte)
        emit(f"pipeline:{name}", [time.perf_counter() - t0], float((pred == yte).mean()))
        return
    if args.grid:
        import tempfile

        from sklearn_pipeline import grid_search

        with tempfile.TemporaryDirectory() as memory:
            name, search = grid_search(args.grid, memory)
            t0 = time.perf_counter()
            pred = search.fit(Xtr, ytr).predict(Xte)
            secs = time.perf_counter() - t0
        emit(f"grid:{name}", [secs], float((pred == yte).mean()), cv_mean=float(search.best_score_), best=str(search.best_params_))
        return
    Xtr /= 255.0
    Xte /= 255.0
    print(json.dumps({"sklearn": sklearn.__version__, "numpy": np.__version__, "python": sys.version.split()[0]}), flush=True)

    if "pca-fit" in tasks:
        secs, _ = timed(lambda: PCA(n_components=50, random_state=0).fit(Xtr), args.repeats)
        emit("pca-fit", secs)
    if "pca-fit-standard" in tasks:
        Xs = StandardScaler().fit_transform(Xtr)
        secs, _ = timed(lambda: PCA(n_components=50, random_state=0).fit(Xs), args.repeats)
        emit("pca-fit-standard", secs)
        del Xs
    if tasks & {"knn-predict", "rf-pca-fit", "svm"}:
        pca = PCA(n_components=50, random_state=0).fit(Xtr)
        Ptr, Pte = pca.transform(Xtr), pca.transform(Xte)

    if "knn-predict" in tasks:
        knn = KNeighborsClassifier(n_neighbors=5, weights="distance", n_jobs=-1).fit(Ptr, ytr)
        secs, pred = timed(lambda: knn.predict(Pte), args.repeats)
        emit("knn-predict", secs, float((pred == yte).mean()))

    if "rf-pca-fit" in tasks:
        def fit_rf_pca():
            return RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0).fit(Ptr, ytr)
        secs, rf = timed(fit_rf_pca, max(1, args.repeats - 1))
        emit("rf-pca-fit", secs, float((rf.predict(Pte) == yte).mean()))

    if "rf-raw-fit" in tasks:
        def fit_rf_raw():
            return RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0).fit(Xtr, ytr)
        secs, rf = timed(fit_rf_raw, max(1, args.repeats - 1))
        emit("rf-raw-fit", secs, float((rf.predict(Xte) == yte).mean()))

    def svm_task(name, Ptr, Pte):
        # the rbf SVM (C = 10, gamma scale) on standardized features: fit and predict timed apart
        scaler = StandardScaler().fit(Ptr)
        Str, Ste = scaler.transform(Ptr), scaler.transform(Pte)
        t0 = time.perf_counter()
        svc = SVC(kernel="rbf", C=10, gamma="scale").fit(Str, ytr)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred = svc.predict(Ste)
        pred_s = time.perf_counter() - t0
        emit(f"{name}-fit", [fit_s], float((pred == yte).mean()))
        emit(f"{name}-predict", [pred_s], float((pred == yte).mean()))

    if "svm" in tasks:
        svm_task("svm", Ptr, Pte)

    if "run-pca-rf" in tasks:
        pipe = make_pipeline(
            PCA(n_components=50, random_state=0),
            RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0),
        )
        t0 = time.perf_counter()
        scores = cross_val_score(pipe, Xtr, ytr, cv=StratifiedKFold(5, shuffle=True, random_state=42))
        cv_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pipe.fit(Xtr, ytr)
        acc = float((pipe.predict(Xte) == yte).mean())
        emit("run-pca-rf", [cv_s + time.perf_counter() - t0], acc, cv_mean=float(scores.mean()), cv_std=float(scores.std()))

    if "svm-256" in tasks:
        # the same SVM on 256 features: PCA 256 of the pixels, standardized
        pca256 = PCA(n_components=256, random_state=0).fit(Xtr)
        svm_task("svm256", pca256.transform(Xtr), pca256.transform(Xte))

    if "hog" in tasks:
        # scikit-image (python3-skimage) has no batch form: one call per image, raw pixels as our stage gets them;
        # one run, as it takes about a minute
        from skimage.feature import hog

        images = (Xtr * 255.0).reshape(-1, 28, 28).astype(np.float64)

        def hog_all():
            return np.stack([hog(im, orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2), block_norm="L2-Hys") for im in images])

        secs, _ = timed(hog_all, 1)
        emit("hog", secs)


if __name__ == "__main__":
    main()
