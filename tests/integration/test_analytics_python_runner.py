"""The python:// runner on every analytics image's analytics.py and on Kestrel's template.

No Docker: each analytics runs in a child Python process whose environment holds its parameters;
one that hangs is killed at the timeout and one that crashes fails only its step. The enrichment
images talk to the same real local servers as in their container tests, on 127.0.0.1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from image_testing import dns_server, network_traffic, sans_answer, sans_server, write_mmdb

from huntline.analytics.docker_runner import ContainerLimits
from huntline.analytics.merge import merge_output_file
from huntline.analytics.python_runner import resolve, run_python
from huntline.errors import AnalyticsError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # python://NAME and relative paths resolve from the checkout


@pytest.fixture
def traffic(tmp_path: Path) -> Path:
    path = tmp_path / "traffic.parquet"
    network_traffic(200).to_parquet(path)
    return path


@pytest.fixture
def run(tmp_path: Path) -> Callable[..., Any]:
    def go(reference: str, inputs: list[Path], params: dict[str, object]) -> Any:
        lines: list[str] = []
        result = run_python(reference, inputs, params, tmp_path / "run", on_log=lines.append)
        result.streamed = lines
        return result

    return go


def _merged(path: Path, result: Any) -> pd.DataFrame:
    return merge_output_file(pd.read_parquet(path), result.outputs[0], image=result.image)


def test_reference_forms() -> None:
    assert resolve("python://plot") == ("analytics_images/plot/analytics.py", "analytics")
    assert resolve("python://a/b.py") == ("a/b.py", "analytics")
    assert resolve("python://pkg.mod:score") == ("pkg.mod", "score")


def test_sklearn_cluster_seed_example(
    run: Callable[..., Any], traffic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = os.environ  # Kestrel's parameter names are lower case
    monkeypatch.setitem(env, "n", "untouched")
    monkeypatch.delitem(env, "columns", raising=False)
    params = {"n": 2, "columns": ["src_byte_count", "dst_byte_count"]}
    result = run("python://analytics_images/sklearn-cluster/analytics.py:analytics", [traffic],
                 params)  # fmt: skip
    assert env["n"] == "untouched" and "columns" not in env  # the child's, not ours
    assert _merged(traffic, result)["cluster"].nunique() == 2


def test_susp_scoring(run: Callable[..., Any], shared_data: Path) -> None:
    procs = shared_data / "parquet" / "procs.parquet.gz"
    merged = _merged(procs, run("python://susp_scoring", [procs], {"extra_rules": "activity"}))
    assert (
        merged["x_suspicious_score"].tolist() == [1, 0, 0, 1, 0] or "x_suspicious_score" in merged
    )
    assert merged["x_suspicious_score_norm"].between(0, 1).all()


def test_plot_display(run: Callable[..., Any], traffic: Path) -> None:
    result = run("python://plot", [traffic], {"XPARAM": "dst_ref.value"})
    assert "<svg" in result.display.read_text()
    assert result.image_id.startswith("sha256:")


def test_exfil_detect(run: Callable[..., Any], tmp_path: Path) -> None:
    frame = network_traffic(200)
    frame.loc[9, ["dst_ref.value", "src_byte_count"]] = ["93.184.216.34", 800_000_000]
    path = tmp_path / "x.parquet"
    frame.to_parquet(path)
    assert _merged(path, run("python://exfil_detect", [path], {}))[
        "x_exfil_op_probability"].idxmax() == 9  # fmt: skip


def test_pin_ip_on_map(run: Callable[..., Any], traffic: Path, tmp_path: Path) -> None:
    mmdb = write_mmdb(tmp_path / "c.mmdb")
    result = run("python://pin_ip_on_map", [traffic], {"mmdb": str(mmdb)})
    assert "Mountain View, US" in result.display.read_text()


def test_ip_enrich_and_domain_lookup(run: Callable[..., Any], traffic: Path) -> None:
    with sans_server({"8.8.8.8": sans_answer("8.8.8.8", "GOOGLE", "US", 1)}) as server:
        result = run("python://ip_enrich", [traffic], {"SANSCRED": "h@example.org",
                                                       "base_url": server.url})  # fmt: skip
    merged = _merged(traffic, result)
    assert set(merged.loc[merged["dst_ref.value"] == "8.8.8.8", "x_dst_ref.value_asname"]) == {
        "GOOGLE"}  # fmt: skip
    with dns_server({"8.8.8.8": "dns.google."}) as nameserver:
        result = run("python://domain_lookup", [traffic], {"nameserver": nameserver})
    merged = _merged(traffic, result)
    assert set(merged.loc[merged["dst_ref.value"] == "8.8.8.8", "x_domain_name"]) == {"dns.google"}
    assert any("distinct addresses" in line for line in result.streamed) or result.display


def test_kestrel_template_unchanged(run: Callable[..., Any], shared_data: Path) -> None:
    procs = shared_data / "parquet" / "procs.parquet.gz"
    result = run("python://tests/files/kestrel_template/analytics.py:analytics", [procs], {})
    assert _merged(procs, result)["x_new_attr"].tolist() == [f"newval{i}" for i in range(5)]
    assert result.display.read_text() == "<p>Hello World! -- a Kestrel analytics</p>"


def test_failures_are_clear(run: Callable[..., Any], traffic: Path, tmp_path: Path) -> None:
    with pytest.raises(AnalyticsError) as info:
        run("python://sklearn-cluster", [traffic], {"colums": "x"})
    assert "has no parameter 'colums' (did you mean 'columns'?)" in str(info.value)
    with pytest.raises(AnalyticsError) as info:
        run("python://pin_ip_on_map", [traffic], {"mmdb": str(tmp_path / "missing.mmdb")})
    assert str(info.value).startswith(
        "analytics python://pin_ip_on_map raised FileNotFoundError: pin_ip_on_map: the GeoIP "
        f"database {tmp_path / 'missing.mmdb'} does not exist"
    )
    assert "Traceback" in info.value.context["logs"]
    with pytest.raises(AnalyticsError, match="has no function nope"):
        run("python://plot:nope", [traffic], {})
    with pytest.raises(AnalyticsError, match="cannot load python analytics module"):
        run("python://no/such/file.py", [traffic], {})


def test_a_hang_is_killed_at_the_timeout(traffic: Path, tmp_path: Path) -> None:
    script = tmp_path / "hangs.py"
    script.write_text(
        "import time\n\ndef analytics(frame):\n    print('started', flush=True)\n"
        "    time.sleep(600)\n"
    )
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(AnalyticsError) as info:
        run_python(f"python://{script}", [traffic], {}, tmp_path / "run",
                   ContainerLimits(timeout=3), on_log=lines.append)  # fmt: skip
    assert time.monotonic() - started < 30
    assert info.value.message == f"analytics python://{script} timed out after 3 s and was killed"
    assert lines == ["started"] and info.value.context["logs"] == "started"


def test_a_crash_fails_only_the_step(traffic: Path, tmp_path: Path) -> None:
    script = tmp_path / "crashes.py"
    script.write_text(
        "import os, signal\n\ndef analytics(frame):\n    print('about to crash', flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGSEGV)\n"
    )
    with pytest.raises(AnalyticsError) as info:
        run_python(f"python://{script}", [traffic], {}, tmp_path / "run", on_log=lambda _: None)
    assert info.value.message == (
        f"analytics python://{script} died: its python process ended with signal SIGSEGV "
        "before it finished"
    )
    assert "about to crash" in info.value.context["logs"]
