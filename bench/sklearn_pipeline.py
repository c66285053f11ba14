"""Our YAML pipeline files as scikit-learn pipelines, for `npm run bench -- --vs-sklearn` (whole-process comparisons).

Each stage maps to what a scikit-learn user would write for the same work:
  normalize minmax → x / 255; sqrt → √(x / 255); standard → StandardScaler; l2 → Normalizer
  pca → PCA(n_components, random_state=0) (scikit-learn's default solver choice)
  knn → KNeighborsClassifier(n_jobs=-1); random_forest → RandomForestClassifier(n_jobs=-1, random_state=0)
  svm → SVC; hog → skimage.feature.hog per image (scikit-image has no batch form); union → FeatureUnion with weights
scikit-image's hog has no signed orientations: a signed HOG is computed unsigned with the same number of bins (the
same feature count and work, a slightly different feature). Block strides other than 1 do not exist there: refused.
"""
import numpy as np
import yaml
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer, StandardScaler
from sklearn.svm import SVC

NORMS = {"l2_hys": "L2-Hys", "l2": "L2", "l1": "L1", "l1_sqrt": "L1-sqrt"}


# module-level functions, so GridSearchCV's Pipeline(memory=…) can hash (pickle) the transformers that use them


def scale255(X):
    return X / 255.0


def sqrt255(X):
    return np.sqrt(X / 255.0)


def hog_images(X, **options):
    from skimage.feature import hog

    return np.stack([hog(im, **options) for im in np.asarray(X, dtype=np.float64).reshape(-1, 28, 28)])


def hog_transformer(p):
    cell = p.get("cell", 4)
    if p.get("block_stride", 1) != 1:
        raise SystemExit("scikit-image's hog has no block stride")
    if p.get("norm", "l2_hys") == "none":
        raise SystemExit("scikit-image's hog always normalises blocks")
    options = dict(
        orientations=p.get("orientations", 9),
        pixels_per_cell=(cell, cell),
        cells_per_block=(p.get("block", 2), p.get("block", 2)),
        block_norm=NORMS[p.get("norm", "l2_hys")],
        transform_sqrt=p.get("sqrt", False),
    )

    return FunctionTransformer(hog_images, kw_args=options)


def stage(name, p):
    p = p or {}
    if name == "normalize":
        method = p.get("method", "minmax")
        if method == "minmax":
            return FunctionTransformer(scale255)
        if method == "sqrt":
            return FunctionTransformer(sqrt255)
        if method == "standard":
            return StandardScaler()
        return Normalizer()
    if name == "pca":
        return PCA(n_components=p.get("components", 50), random_state=0)
    if name == "knn":
        return KNeighborsClassifier(
            n_neighbors=p.get("k", 5), weights=p.get("weights", "uniform"), metric=p.get("metric", "euclidean"), n_jobs=-1
        )
    if name == "random_forest":
        return RandomForestClassifier(
            n_estimators=p.get("trees", 100),
            max_features=p.get("max_features", "sqrt"),
            max_depth=p.get("max_depth"),
            min_samples_leaf=p.get("min_samples_leaf", 1),
            bootstrap=p.get("bootstrap", True),
            n_jobs=-1,
            random_state=0,
        )
    if name == "svm":
        return SVC(
            kernel=p.get("kernel", "rbf"),
            C=p.get("C", 1.0),
            gamma=p.get("gamma", "scale"),
            degree=p.get("degree", 3),
            coef0=p.get("coef0", 0.0),
        )
    if name == "hog":
        return hog_transformer(p)
    if name == "union":
        branches = [(b, steps_pipeline(spec["steps"])) for b, spec in p.items()]
        weights = {b: spec.get("weight", 1) for b, spec in p.items()}
        return FeatureUnion(branches, transformer_weights=weights)
    raise SystemExit(f"no scikit-learn counterpart for stage {name}")


def step_ids(steps):
    """Our step ids: stage names, repeated ones numbered name-1, name-2 (src/config/load.ts)."""
    names = [next(iter(step)) for step in steps]
    seen = {}
    ids = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        ids.append(f"{n}-{seen[n]}" if names.count(n) > 1 else n)
    return ids


def steps_pipeline(steps, memory=None):
    stages = [stage(*next(iter(step.items()))) for step in steps]
    return Pipeline(list(zip(step_ids(steps), stages)), memory=memory)


def read(path):
    with open(path) as f:
        return yaml.safe_load(f)


def from_file(path):
    config = read(path)
    return config["name"], steps_pipeline(config["steps"])


# our grid keys (step.param) as scikit-learn's (step__param)
PARAMS = {
    "pca": {"components": "n_components"},
    "knn": {"k": "n_neighbors", "weights": "weights", "metric": "metric"},
    "svm": {"C": "C", "gamma": "gamma", "kernel": "kernel", "degree": "degree", "coef0": "coef0"},
    "random_forest": {"trees": "n_estimators", "max_features": "max_features", "max_depth": "max_depth"},
}


def grid_search(path, memory):
    """GridSearchCV over the file's pipeline and grid: its folds (stratified, shuffled with its seed), refit."""
    config = read(path)
    ids = step_ids(config["steps"])
    stages = [next(iter(step)) for step in config["steps"]]
    grid = {}
    for key, values in config["grid"].items():
        step, param = key.split(".")
        name = PARAMS.get(stages[ids.index(step)], {}).get(param)
        if name is None:
            raise SystemExit(f"no scikit-learn counterpart for grid key {key}")
        grid[f"{step}__{name}"] = values
    evaluation = config.get("evaluation", {})
    cv = StratifiedKFold(evaluation.get("folds", 5), shuffle=True, random_state=evaluation.get("seed", 42))
    pipe = steps_pipeline(config["steps"], memory=memory)
    return config["name"], GridSearchCV(pipe, grid, cv=cv, n_jobs=-1, refit=True)
