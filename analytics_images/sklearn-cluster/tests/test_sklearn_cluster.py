"""sklearn-cluster on generated traffic and the shared sample: the seed's example unchanged."""

from __future__ import annotations

from types import ModuleType

import pandas as pd
import pytest
from image_testing import dockerfile_labels, load, network_traffic, shared_parquet


@pytest.fixture(scope="module")
def cluster() -> ModuleType:
    return load("sklearn-cluster")


def test_seed_example_two_clusters_split_small_from_large(
    cluster: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``with: {n: 2, columns: "src_byte_count,dst_byte_count"}``, as in the Kestrel article."""
    frame = network_traffic(300)
    monkeypatch.setenv("n", "2")
    monkeypatch.setenv("columns", "src_byte_count,dst_byte_count")
    out = cluster.analytics(frame)
    assert out["cluster"].dtype == "int64"
    assert set(out["cluster"]) == {0, 1}
    small = frame["src_byte_count"] < 1000
    # the two byte-count regimes are the two clusters, exactly
    assert out.loc[small, "cluster"].nunique() == 1
    assert out.loc[~small, "cluster"].nunique() == 1
    assert out.loc[small, "cluster"].iloc[0] != out.loc[~small, "cluster"].iloc[0]
    assert list(out.columns) == [*frame.columns, "cluster"]


def test_dbscan_with_estimator_parameters_on_mixed_columns(
    cluster: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pd.read_parquet(shared_parquet("nettraffic.parquet.gz"))
    for key, value in {"method": "dbscan", "eps": "0.5", "min_samples": "3",
                       "columns": "dst_port,protocols,dst_ref.value"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    out = cluster.analytics(frame)
    assert len(out) == len(frame) == 474
    assert out["cluster"].min() >= -1 and out["cluster"].nunique() > 1
    # same dst_port, protocol and destination -> same cluster
    same = out.groupby(["dst_port", "protocols", "dst_ref.value"])["cluster"].nunique()
    assert (same == 1).all()


def test_default_columns_are_the_numeric_ones(
    cluster: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("n", "3")
    assert cluster.pick_columns(network_traffic(10), None) == [
        "src_port", "dst_port", "src_byte_count", "dst_byte_count"]  # fmt: skip
    assert cluster.analytics(network_traffic(50))["cluster"].nunique() == 3


def test_missing_column_names_it(cluster: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("columns", "src_byte_count,dst_byte_count")
    frame = pd.read_parquet(shared_parquet("nettraffic.parquet.gz"))  # has no byte counts
    with pytest.raises(KeyError, match=r"src_byte_count, dst_byte_count not in the input"):
        cluster.analytics(frame)


def test_unknown_method(cluster: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("method", "spectral")
    with pytest.raises(ValueError, match="method 'spectral' unknown"):
        cluster.analytics(network_traffic(10))


def test_label_lists_every_parameter(cluster: ModuleType) -> None:
    from sklearn.cluster import DBSCAN, KMeans

    declared = set(dockerfile_labels("sklearn-cluster")["huntline.parameters"].split(","))
    assert declared == set(cluster.PARAMETERS)
    estimator = (set(KMeans().get_params()) | set(DBSCAN().get_params())) - {"n_jobs"}
    assert set(cluster.ESTIMATOR_PARAMETERS) == estimator
