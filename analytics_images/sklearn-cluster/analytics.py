#!/usr/bin/env python3
"""Cluster the rows of a Kestrel variable with scikit-learn (k-means or DBSCAN).

Kestrel's ``sklearn-cluster`` analytics, rebuilt: the same parameters (``n``, ``columns``,
``method`` and any estimator parameter by its scikit-learn name), plus an encoding for columns
that are not numeric, so the estimator never sees a string. Adds ``cluster`` (int64; DBSCAN's
noise is -1).

Why one-hot / frequency encoding instead of the reference's Gower distance matrix: a distance
matrix is quadratic in rows (100k flows would need 80 GB), while an encoding keeps memory linear
and lets k-means run on mixed data too. Numeric columns are standardised so that bytes do not
drown ports.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN, KMeans
from sklearn.preprocessing import StandardScaler

INPUT_PATH = Path("/data/input/0.parquet.gz")
OUTPUT_PATH = Path("/data/output/0.parquet.gz")

ESTIMATORS = {"kmeans": KMeans, "dbscan": DBSCAN}
# Parameters of our own; every other accepted name is an estimator parameter.
OWN = {
    "method": "kmeans (default) or dbscan",
    "n": "number of clusters for kmeans (n_clusters), default 8",
    "columns": "comma-separated columns to cluster on (default: every numeric column)",
    "scale": "true (default) standardises numeric columns; false uses them raw",
    "max_categories": "categorical columns with more distinct values are frequency-encoded "
    "instead of one-hot (default 20)",
}
# KMeans' and DBSCAN's parameters (scikit-learn 1.9; n_jobs left out: the container has its
# CPU limit). The image label huntline.parameters lists the same names.
ESTIMATOR_PARAMETERS = (
    "algorithm", "copy_x", "eps", "init", "leaf_size", "max_iter", "metric", "metric_params",
    "min_samples", "n_clusters", "n_init", "p", "random_state", "tol", "verbose",
)  # fmt: skip
PARAMETERS = {**OWN, **{name: "passed to the estimator" for name in ESTIMATOR_PARAMETERS}}
# Columns that identify rows rather than describe them: never clustered on by default.
IDENTITY = {"id", "type", "x_contained_by_ref", "first_observed", "last_observed"}


def _value(text: str) -> object:
    """An estimator parameter from its environment string: int, float, bool, None or str."""
    lowered = text.strip().lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    if lowered in {"none", "null", ""}:
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def pick_columns(frame: pd.DataFrame, wanted: str | None) -> list[str]:
    """The requested columns (all must exist), or every numeric non-identity column."""
    if wanted:
        columns = [c.strip() for c in wanted.split(",") if c.strip()]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise KeyError(
                f"sklearn-cluster: column(s) {', '.join(missing)} not in the input; it has "
                f"{', '.join(map(str, frame.columns))}"
            )
        return columns
    numeric = [
        c for c in frame.columns if c not in IDENTITY and pd.api.types.is_numeric_dtype(frame[c])
    ]
    if not numeric:
        raise ValueError("sklearn-cluster: no numeric column to cluster on; pass `columns`")
    return numeric


def encode(frame: pd.DataFrame, columns: list[str], *, scale: bool, max_categories: int):
    """A float matrix: numeric columns (nulls as the median, standardised), others encoded.

    A categorical column with at most ``max_categories`` values is one-hot encoded; one with
    more is replaced by each value's relative frequency (rare values sit apart).
    """
    parts: list[np.ndarray] = []
    for column in columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series):
            series = series.astype("float64")
        if pd.api.types.is_numeric_dtype(series):
            values = series.astype("float64")
            values = values.fillna(values.median() if values.notna().any() else 0.0)
            block = values.to_numpy().reshape(-1, 1)
            parts.append(StandardScaler().fit_transform(block) if scale else block)
            continue
        text = series.astype("string").fillna("<null>")
        if text.nunique() <= max_categories:
            parts.append(pd.get_dummies(text, dtype="float64").to_numpy())
        else:
            parts.append(text.map(text.value_counts(normalize=True)).to_numpy("float64")[:, None])
    return np.hstack(parts)


def analytics(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``cluster`` to ``frame``; parameters come from the environment (Kestrel's WITH)."""
    env = os.environ
    method = env.get("method", "kmeans").strip().lower()
    if method not in ESTIMATORS:
        raise ValueError(f"sklearn-cluster: method {method!r} unknown; use kmeans or dbscan")
    estimator = ESTIMATORS[method]
    accepted = set(estimator().get_params()) & set(ESTIMATOR_PARAMETERS)
    params = {name: _value(env[name]) for name in accepted if name in env}
    if method == "kmeans" and "n" in env:
        params["n_clusters"] = int(env["n"])
    if method == "kmeans":
        params.setdefault("random_state", 0)  # the same input gives the same clusters
        params.setdefault("n_init", 10)
    columns = pick_columns(frame, env.get("columns"))
    result = frame.copy()
    if frame.empty:
        result["cluster"] = pd.Series(dtype="int64")
        return result
    matrix = encode(
        frame,
        columns,
        scale=env.get("scale", "true").lower() != "false",
        max_categories=int(env.get("max_categories", "20")),
    )
    if method == "kmeans":
        params["n_clusters"] = min(int(params.get("n_clusters", 8)), len(frame))
    labels = estimator(**params).fit(matrix).labels_
    result["cluster"] = np.asarray(labels, dtype="int64")
    return result


def main() -> int:
    """Run under the Kestrel analytics contract."""
    frame = pd.read_parquet(INPUT_PATH)
    clustered = analytics(frame)
    clustered.to_parquet(OUTPUT_PATH, compression="gzip", compression_level=1, index=False)
    sizes = clustered["cluster"].value_counts().sort_index().to_dict()
    print(f"sklearn-cluster: {len(frame)} rows, cluster sizes {sizes}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
