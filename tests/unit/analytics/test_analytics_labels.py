"""Image labels: parameters refused with a did-you-mean, host files mounted read-only, and
``huntline validate`` warnings for network needs and misspelt parameters."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from huntline import cli
from huntline.analytics.labels import ImageLabels, check_parameters, dockerfile_labels, file_mounts
from huntline.book.loader import load_book
from huntline.errors import AnalyticsError
from huntline.steps.book_checks import step_warnings

REPO = Path(__file__).resolve().parents[3]
IMAGES = REPO / "analytics_images"


def test_parse_labels() -> None:
    labels = ImageLabels.parse({"huntline.parameters": "a,b", "huntline.mounts": "b",
                                "huntline.network": "true", "huntline.version": "2"})  # fmt: skip
    assert labels == ImageLabels(frozenset({"a", "b"}), frozenset({"b"}), True, "2")
    assert ImageLabels.parse(None) == ImageLabels()  # a Kestrel image: nothing declared


def test_unknown_parameter_has_a_did_you_mean() -> None:
    check_parameters("img", None, {"anything": 1})  # no declaration: no check
    with pytest.raises(AnalyticsError) as info:
        check_parameters("img", frozenset({"columns", "n"}), {"colums": "x", "zz": 1, "n": 2})
    assert str(info.value) == (
        "analytics img has no parameter 'colums' (did you mean 'columns'?), 'zz'\n"
        "  hint: its parameters: columns, n"
    )
    assert pickle.loads(pickle.dumps(info.value)).context["unknown"] == ["colums", "zz"]


def test_file_mounts(tmp_path: Path) -> None:
    mmdb = tmp_path / "City.mmdb"
    mmdb.write_bytes(b"x")
    params, volumes = file_mounts("img", frozenset({"mmdb"}), {"mmdb": str(mmdb), "n": 1})
    assert params == {"mmdb": "/mnt/huntline/mmdb/City.mmdb", "n": 1}
    assert volumes == {str(mmdb): {"bind": "/mnt/huntline/mmdb/City.mmdb", "mode": "ro"}}
    with pytest.raises(AnalyticsError, match=r"mmdb names /no/City\.mmdb, which does not"):
        file_mounts("img", frozenset({"mmdb"}), {"mmdb": "/no/City.mmdb"})


@pytest.mark.parametrize("name", ["susp_scoring", "ip_enrich", "pin_ip_on_map", "plot",
                                  "domain_lookup", "exfil_detect", "sklearn-cluster"])  # fmt: skip
def test_every_image_declares_itself(name: str) -> None:
    labels = ImageLabels.parse(dockerfile_labels(IMAGES / name / "Dockerfile"))
    assert labels.parameters and labels.version
    assert labels.network == (name in {"ip_enrich", "domain_lookup"})


def test_book_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = tmp_path / "enrich.yaml"
    book.write_text(
        "id: 0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e12\ntitle: Enrich\nwindow: {last: 1h}\n"
        "steps:\n"
        "  - get: conns\n    entity: network-traffic\n    from: edr\n"
        '    where: "[network-traffic:dst_port = 443]"\n'
        "  - apply: docker://ip_enrich\n    on: conns\n    with: {SANSCRED: a@b.c, base_ur: x}\n"
        "  - apply: docker://domain_lookup\n    on: conns\n    network: true\n"
        "  - apply: python://analytics_images/plot/analytics.py:analytics\n    on: conns\n"
        "  - apply: python://plott\n    on: conns\n"
    )
    monkeypatch.chdir(REPO)
    warnings = step_warnings(load_book(book))
    assert warnings == [
        "step 2: docker://ip_enrich needs the network (image label huntline.network) but the "
        "step does not set network: true; it will run without network",
        "step 2: analytics kestrel-analytics-ip_enrich has no parameter 'base_ur' (did you mean "
        "'base_url'?)\n  hint: its parameters: SANSCRED, base_url, cache_file, columns, "
        "max_retries, max_wait, on_error, timeout",
        "step 5: python://plott: no module plott (nor analytics_images/plott/)",
    ]
    assert cli.main(["validate", str(book)]) == 0  # warnings do not fail validation


def test_book_default_runner(tmp_path: Path) -> None:
    book = tmp_path / "py.yaml"
    book.write_text(
        "id: 0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e14\ntitle: Python\nrunner: python\n"
        "steps:\n"
        "  - get: conns\n    entity: network-traffic\n    from: edr\n"
        '    where: "[network-traffic:dst_port = 443]"\n'
        "  - apply: plot\n    on: conns\n"
        "  - apply: docker://sklearn-cluster\n    on: conns\n"
    )
    steps = load_book(book).steps
    assert [getattr(step, "apply", None) for step in steps] == [
        None, "python://plot", "docker://sklearn-cluster"]  # fmt: skip
    book.write_text(book.read_text().replace("runner: python", "runner: java"))
    with pytest.raises(Exception, match="runner"):
        load_book(book)
