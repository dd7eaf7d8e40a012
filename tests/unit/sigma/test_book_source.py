"""A book that points at a Sigma rule (``sigma: rule.yml``): the book ``huntline sigma convert``
writes, with the book's own keys around it, and located errors when it cannot be."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_convert import BAD, GOOD

from huntline.book import load_book
from huntline.book.files import book_paths
from huntline.cli import main
from huntline.errors import BookError
from huntline.schedule.specs import desired_specs
from huntline.steps.book_checks import load_hunt, read_hunt

RULE = GOOD.replace("title: good", "title: good\nlevel: high\ntags: [attack.t1059.001]")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "good.yml").write_text(RULE)
    for name, text in BAD.items():
        (tmp_path / "rules" / name).write_text(text)
    return tmp_path


def _book(folder: Path, text: str) -> Path:
    path = folder / "book.yaml"
    path.write_text(text)
    return path


def _problems(path: Path) -> tuple[list[str], str | None]:
    with pytest.raises(BookError) as caught:
        load_hunt(path)
    return caught.value.problems, caught.value.hint


def test_a_sigma_book_is_the_book_convert_writes_with_its_own_keys(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    into = folder / "converted"
    argv = ["sigma", "convert", str(folder / "rules" / "good.yml"), "--into", str(into)]
    argv += ["--source", "edr", "--schedule", "*/30 * * * *", "--window", "1h"]
    assert main(argv) == 0
    capsys.readouterr()
    converted = load_book(into / "good.yaml")
    book = load_hunt(
        _book(
            folder,
            "sigma: rules/good.yml\nfrom: edr\n"
            "schedule: {cron: '*/30 * * * *', timezone: UTC}\nwindow: {last: 1h}\n",
        )
    )
    assert book == converted
    assert str(book.id) == "11111111-2222-4333-8444-555555555555"
    assert (book.title, book.level, book.tags) == ("good", "high", ["attack.t1059.001"])


def test_the_book_keys_win_and_notify_goes_to_the_alert(folder: Path) -> None:
    path = _book(folder, "sigma: rules/good.yml\nfrom: sysmon\nlevel: low\nnotify: [nowhere]\n")
    problems, _ = _problems(path)
    assert problems == [
        f"{path}:4 alert.notify[0]: unknown destination 'nowhere'; known: none: "
        "destinations.yaml does not exist or lists none"
    ]
    book = load_hunt(_book(folder, "sigma: rules/good.yml\nfrom: sysmon\nlevel: low\n"))
    assert book.level == "low"
    assert book.steps[0].model_dump(by_alias=True)["from"] == ["sysmon"]


def test_the_digest_covers_the_rule(folder: Path) -> None:
    path = _book(folder, "sigma: rules/good.yml\n")
    before = read_hunt(path).sha256
    (folder / "rules" / "good.yml").write_text(RULE.replace("'x'", "'y'"))
    assert read_hunt(path).sha256 != before


def test_a_missing_rule_is_an_error_at_the_sigma_line(folder: Path) -> None:
    path = _book(folder, "title: mine\nsigma: rules/nope.yml\n")
    assert _problems(path) == (
        [f"{path}:2 sigma: no Sigma rule file {folder}/rules/nope.yml"],
        "the path is relative to the book's folder",
    )


def test_a_rule_that_does_not_convert_says_why_naming_the_rule_and_field(folder: Path) -> None:
    path = _book(folder, "sigma: rules/unknown_modifier.yml\n")
    rule = folder / "rules" / "unknown_modifier.yml"
    assert _problems(path) == (
        [
            f"{path}:1 sigma: the rule does not convert (unsupported modifier): {rule}: "
            "field CommandLine: Unknown modifier 'contians'"
        ],
        "fix the rule (huntline sigma coverage RULE says why rules do not convert)",
    )


@pytest.mark.parametrize("key", ["steps", "alert"])
def test_sigma_with_steps_or_alert_is_an_error(folder: Path, key: str) -> None:
    path = _book(folder, f"sigma: rules/good.yml\n{key}: []\n")
    assert _problems(path) == (
        [f"{path}:2 {key}: a book with sigma: takes its {key} from the rule"],
        f"remove {key}:, or remove sigma: and write the book's steps and alert",
    )


def test_a_sigma_book_is_found_in_a_folder_and_a_rule_is_not(folder: Path) -> None:
    path = _book(folder, "sigma: rules/good.yml\n")
    assert book_paths([folder]) == [path]


def test_deploy_plans_a_sigma_book_as_any_book(folder: Path) -> None:
    _book(folder, "sigma: rules/good.yml\nschedule: {cron: '*/30 * * * *'}\n")
    [spec] = desired_specs(folder, folder, None)
    assert (spec.name, spec.parameters, spec.cron) == (
        "book",
        {"book": "book.yaml", "scheduled": True},
        "*/30 * * * *",
    )
    assert spec.description == "good (book.yaml)"
    assert "attack.t1059.001" in spec.tags
