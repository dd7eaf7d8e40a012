"""Image folders, the staged build context (CA option) and build error reporting."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntline.analytics.images import follow_build, image_dir, list_images, stage_context
from huntline.errors import AnalyticsError

REPO = Path(__file__).resolve().parents[3]


def test_list_images_finds_folders_with_a_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "Dockerfile").write_text("FROM x\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "Dockerfile").write_text("FROM x\n")
    (tmp_path / "notes").mkdir()
    assert list_images(tmp_path) == ["a", "b"]
    assert list_images(tmp_path / "missing") == []
    assert "susp_scoring" in list_images(REPO / "analytics_images")


def test_unknown_image_lists_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "Dockerfile").write_text("FROM x\n")
    with pytest.raises(AnalyticsError) as info:
        image_dir("zz", tmp_path)
    assert (
        str(info.value)
        == f"no analytics image folder 'zz' (looked in {tmp_path}/)\n  hint: known images: a"
    )


def test_context_gets_the_ca_bundle_and_drops_tests(tmp_path: Path) -> None:
    ca = tmp_path / "proxy.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    context = stage_context(REPO / "analytics_images" / "susp_scoring", tmp_path / "ctx", ca)
    assert (context / "extra-ca.crt").read_text() == "-----BEGIN CERTIFICATE-----\n"
    assert {"Dockerfile", "analytics.py", "rules.json"} <= {p.name for p in context.iterdir()}
    assert not (context / "tests").exists()


def test_context_without_ca_has_an_empty_placeholder(tmp_path: Path) -> None:
    context = stage_context(REPO / "analytics_images" / "susp_scoring", tmp_path / "ctx", None)
    assert (context / "extra-ca.crt").read_bytes() == b""


def test_build_error_names_the_step_and_its_output() -> None:
    lines: list[str] = []
    stream = [
        {"stream": "Step 1/2 : FROM base\n"},
        {"stream": " ---> abc\n"},
        {"stream": "Step 2/2 : RUN pip install x\n"},
        {"stream": "Collecting x\n"},
        {"stream": "SSLError(SSLCertVerificationError('certificate verify failed'))\n"},
        {"error": "The command '/bin/sh -c pip install x' returned a non-zero code: 1"},
    ]
    with pytest.raises(AnalyticsError) as info:
        follow_build(stream, "kestrel-analytics-x", lines.append, None)
    assert str(info.value) == (
        "building kestrel-analytics-x failed at Step 2/2 : RUN pip install x: "
        "The command '/bin/sh -c pip install x' returned a non-zero code: 1\n"
        "  step output:\n"
        "    Collecting x\n"
        "    SSLError(SSLCertVerificationError('certificate verify failed'))\n"
        "  hint: pip does not trust this network's proxy: pass --ca-bundle with its CA bundle"
    )
    assert lines[0] == "Step 1/2 : FROM base"


def test_missing_base_image_hint() -> None:
    stream = [
        {"stream": "Step 1/1 : FROM huntline-base:nope\n"},
        {"error": "pull access denied for huntline-base, repository does not exist"},
    ]
    with pytest.raises(AnalyticsError, match=r"build one with scripts/build_base_image\.sh"):
        follow_build(stream, "kestrel-analytics-x", lambda _: None, "huntline-base:nope")


def test_a_link_out_of_the_image_folder_is_refused(tmp_path: Path) -> None:
    """A third-party image folder must not get a host file baked into its image (issue 22)."""
    folder = tmp_path / "images" / "sneaky"
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text("FROM scratch\nCOPY data /data\n")
    (tmp_path / "host-secret").write_text("host canary")
    (folder / "data").symlink_to(tmp_path / "host-secret")
    with pytest.raises(AnalyticsError) as caught:
        stage_context(folder, tmp_path / "ctx", None)
    assert str(caught.value) == (
        f"image folder sneaky holds data, a link out of the folder (to {tmp_path / 'host-secret'})"
        "; it is not copied into the build\n"
        "  hint: copy the file into the folder instead of linking to it"
    )
    assert not (tmp_path / "ctx").exists()
    (folder / "data").unlink()
    (folder / "data").symlink_to("Dockerfile")  # a link inside the folder stays a link
    context = stage_context(folder, tmp_path / "ctx", None)
    assert (context / "data").is_symlink()
