"""Every image in analytics_images/ built and run through the Docker runner, locked down.

The images build once per session on the local base image (their shared first layers come from
Docker's cache after the first). The enrichment images talk to real local servers bound to the
Docker bridge's gateway, which a container on the bridge network reaches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from image_testing import (
    dns_server,
    network_traffic,
    sans_answer,
    sans_server,
    write_mmdb,
)

from huntline.analytics.docker_runner import ContainerLimits, run_container
from huntline.analytics.images import list_images
from huntline.analytics.merge import merge_output_file
from huntline.errors import AnalyticsError

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
NETWORK = ContainerLimits(network=True, timeout=120)


@pytest.fixture(scope="session")
def all_images(build_test_image: Callable[..., str]) -> dict[str, str]:
    """Every image folder built (cached), with the time each build took."""
    built, seconds = {}, {}
    for name in list_images(REPO / "analytics_images"):
        started = time.monotonic()
        built[name] = build_test_image(name, REPO / "analytics_images")
        seconds[name] = round(time.monotonic() - started, 1)
    print("analytics image build times (s):", seconds)
    return built


@pytest.fixture(scope="session")
def bridge_gateway(docker_client: Any) -> str:
    """The host's address on Docker's default bridge, where test servers listen."""
    import ipaddress

    config = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    # Engines that leave Gateway out of the IPAM config use the subnet's first address.
    return str(config.get("Gateway") or ipaddress.ip_network(config["Subnet"])[1])


@pytest.fixture
def traffic(tmp_path: Path) -> Path:
    path = tmp_path / "traffic.parquet"
    network_traffic(300).to_parquet(path)
    return path


@pytest.fixture
def run(tmp_path: Path, all_images: dict[str, str]) -> Iterator[Callable[..., Any]]:
    def go(name: str, inputs: list[Path], params: dict[str, object], **limits: Any) -> Any:
        return run_container(
            all_images[name], inputs, params, tmp_path / f"run-{name}", ContainerLimits(**limits)
        )

    yield go


def _merged(path: Path, result: Any) -> pd.DataFrame:
    return merge_output_file(pd.read_parquet(path), result.outputs[0], image=result.image)


def test_all_seven_images_are_folders() -> None:
    assert set(list_images(REPO / "analytics_images")) >= {
        "susp_scoring", "sklearn-cluster", "ip_enrich", "pin_ip_on_map", "plot",
        "domain_lookup", "exfil_detect"}  # fmt: skip


def test_sklearn_cluster_seed_example(run: Callable[..., Any], traffic: Path) -> None:
    result = run("sklearn-cluster", [traffic], {"n": 2, "columns": "src_byte_count,dst_byte_count"})
    merged = _merged(traffic, result)
    assert merged["cluster"].nunique() == 2
    assert "cluster sizes" in result.logs


def test_plot_display(run: Callable[..., Any], traffic: Path) -> None:
    result = run("plot", [traffic], {"XPARAM": "first_observed", "YPARAM": "src_byte_count"})
    assert result.outputs == {}  # the variable is unchanged
    assert result.display is not None and "<svg" in result.display.read_text()


def test_exfil_detect(run: Callable[..., Any], tmp_path: Path) -> None:
    frame = network_traffic(300)
    frame.loc[5, ["dst_ref.value", "src_byte_count"]] = ["93.184.216.34", 900_000_000]
    path = tmp_path / "exfil.parquet"
    frame.to_parquet(path)
    merged = _merged(path, run("exfil_detect", [path], {}))
    assert merged["x_exfil_op_probability"].idxmax() == 5
    assert merged.loc[5, "x_possible_exfil_op"] == "Internal->External"


def test_susp_scoring_with_extra_rules(
    run: Callable[..., Any], shared_data: Path, tmp_path: Path
) -> None:
    procs = shared_data / "parquet" / "procs.parquet.gz"
    merged = _merged(procs, run("susp_scoring", [procs], {"extra_rules": "activity"}))
    assert merged["x_suspicious_score_norm"].between(0, 1).all()
    assert "x_suspicious_reasons" in merged.columns


def test_pin_ip_on_map_mounts_the_mmdb_read_only(
    run: Callable[..., Any], traffic: Path, tmp_path: Path
) -> None:
    mmdb = write_mmdb(tmp_path / "GeoLite2-City.mmdb")
    result = run("pin_ip_on_map", [traffic], {"mmdb": str(mmdb)})
    page = result.display.read_text()
    assert "L.circleMarker(" in page and "Mountain View, US" in page


def test_missing_mmdb_fails_before_the_container(run: Callable[..., Any], traffic: Path) -> None:
    with pytest.raises(AnalyticsError) as info:
        run("pin_ip_on_map", [traffic], {"mmdb": "/nonexistent/GeoLite2-City.mmdb"})
    assert str(info.value) == (
        "analytics kestrel-analytics-pin_ip_on_map: parameter mmdb names "
        "/nonexistent/GeoLite2-City.mmdb, which does not exist\n"
        "  hint: point mmdb at a readable file on this host"
    )


def test_unknown_parameter_fails_with_did_you_mean(run: Callable[..., Any], traffic: Path) -> None:
    with pytest.raises(AnalyticsError) as info:
        run("sklearn-cluster", [traffic], {"n": 2, "colums": "src_byte_count"})
    assert str(info.value).startswith(
        "analytics kestrel-analytics-sklearn-cluster has no parameter 'colums' "
        "(did you mean 'columns'?)\n  hint: its parameters: algorithm, columns, copy_x,"
    )


def test_missing_column_fails_with_the_analytics_message(
    run: Callable[..., Any], shared_data: Path
) -> None:
    nettraffic = shared_data / "parquet" / "nettraffic.parquet.gz"  # no byte counts
    with pytest.raises(AnalyticsError) as info:
        run("sklearn-cluster", [nettraffic], {"n": 2, "columns": "src_byte_count,dst_byte_count"})
    assert "failed with exit code 1" in str(info.value)
    assert "column(s) src_byte_count, dst_byte_count not in the input" in str(info.value)


def test_ip_enrich_through_the_bridge(
    run: Callable[..., Any], traffic: Path, bridge_gateway: str
) -> None:
    answers = {"8.8.8.8": sans_answer("8.8.8.8", "GOOGLE", "US", 3)}
    with sans_server(answers, host=bridge_gateway, throttle_first=1) as server:
        params = {"SANSCRED": "hunter@example.org", "base_url": server.url}
        result = run("ip_enrich", [traffic], params, network=True)
    merged = _merged(traffic, result)
    google = merged[merged["dst_ref.value"] == "8.8.8.8"]
    assert (google["x_dst_ref.value_asname"] == "GOOGLE").all()
    assert len(server.requests) == 3  # one 429, then 8.8.8.8 and 1.1.1.1 once each


def test_ip_enrich_unreachable_fails_clearly(run: Callable[..., Any], traffic: Path) -> None:
    params = {"SANSCRED": "h@example.org", "base_url": "http://127.0.0.1:9/api", "max_retries": 0}
    with pytest.raises(AnalyticsError) as info:
        run("ip_enrich", [traffic], params)  # no network at all: the API is unreachable
    assert "the SANS API is unreachable" in str(info.value)
    assert "set on_error=degrade" in str(info.value)


def test_domain_lookup_through_the_bridge(
    run: Callable[..., Any], traffic: Path, bridge_gateway: str
) -> None:
    ptr = {"8.8.8.8": "dns.google.", "10.0.0.5": "ws-05.corp.example."}
    with dns_server(ptr, host=bridge_gateway) as nameserver:
        result = run("domain_lookup", [traffic], {"nameserver": nameserver}, network=True)
    merged = _merged(traffic, result)
    names = dict(zip(merged["dst_ref.value"], merged["x_domain_name"], strict=True))
    assert names["8.8.8.8"] == "dns.google"
    assert pd.isna(names["1.1.1.1"])
    assert set(
        merged.loc[merged["src_ref.value"] == "10.0.0.5", "x_src_ref.value_domain_name"]
    ) == {"ws-05.corp.example"}
    assert json.dumps(result.display.read_text())


def test_images_list_shows_digest_and_labels(
    all_images: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from huntline import cli

    assert cli.main(["images", "list", "--root", str(REPO / "analytics_images")]) == 0
    shown = capsys.readouterr().out
    rows = {line.split("│")[1].strip(): line for line in shown.splitlines() if "│" in line}
    assert "sha256:" in rows["ip_enrich"] and " yes " in rows["ip_enrich"]
    assert " yes " not in rows["plot"] and "XPARAM" in rows["plot"]
