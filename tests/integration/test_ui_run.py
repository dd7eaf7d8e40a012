"""A deployment run from the Prefect UI, in a real browser: Debian's headless Chromium, driven
by selenium through Debian's chromedriver, against the session's Prefect server and a process
worker. It opens the deployment's "Run" → "Custom run" form, checks that huntline's typed
parameters show with their descriptions, turns ``dry_run`` on, types ``source``, submits, waits
on the flow run page until it shows Completed, and finds huntline's artifacts on its Artifacts
tab; the Prefect client then confirms the run is the one the form created, with both parameters.

Selectors are visible text and roles, found by dumping the real UI's page source. On failure a
screenshot, the page source and the browser's console log go to the test's ``tmp_path`` (never
the repository) and their paths are in the failure message.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from inline_books import procs_book
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    DeploymentFilter,
    DeploymentFilterId,
)
from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.server

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Headless as root (CI), and quiet: no sandbox (needs an unprivileged user), no GPU, no calls
#: home (there is no internet here), a fresh profile per test.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Tall enough that the Artifacts tab renders its task-run section without scrolling.
    "--window-size=1400,2400",
)
#: How long the UI may take to show a page or react to a click.
UI_WAIT = 30.0
#: How long the run may take from submission to Completed (the worker polls every second).
RUN_WAIT = 120.0
#: How long the deployment page may show a stale runs list before it is reloaded.
RELOAD_SECONDS = 5.0
#: The parameters the form must show with their descriptions (from the flow's docstring).
SHOWN = ("book", "start", "stop", "source", "dry_run")
#: What a completed run of BOOK publishes: its window and manifest, and its alerts table.
ARTIFACTS = {"window", "manifest", "alerts"}
#: Typed into the form's ``source``. BOOK reads a stix-shifter profile nobody configured, so the
#: run only completes, with alerts, if the form's override reached the flow.
SOURCE = "file://hunts/data/sample_endpoint_bundle.json"
BOOK = procs_book(
    """\
id: 8d2e4f1a-6b3c-4a5d-9e7f-0a1b2c3d4e5f
title: Processes on endpoints (UI test)
window:
  start: 2024-06-03T00:00:00Z
  stop: 2024-06-04T00:00:00Z
""",
    """\
  when: exists(name)
  severity: low
  title: "Process {name}"
""",
)


@pytest.fixture
def project(repo_root: Path, tmp_path: Path) -> Path:
    """The hunt entrypoint, the sample endpoint bundle and BOOK (no Docker, alerts on every
    process with a pid)."""
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    (root / "hunts/data").mkdir(parents=True)
    shutil.copy(repo_root / "flows/hunt.py", root / "flows/hunt.py")
    bundle = "hunts/data/sample_endpoint_bundle.json"
    shutil.copy(repo_root / bundle, root / bundle)
    (root / "hunts/ui_processes.yaml").write_text(BOOK)
    return root


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    """Headless Debian Chromium through Debian's chromedriver; Selenium Manager stays offline."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: apt-get install chromium chromium-driver "
            "(scripts/bootstrap.sh --test installs them)",
            pytrace=False,
        )
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # for the failure evidence
    with tempfile.TemporaryDirectory(prefix="huntline-chromium-") as profile:
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            yield driver
        finally:
            driver.quit()


@contextmanager
def evidence_on_failure(driver: WebDriver, folder: Path) -> Iterator[None]:
    """Turn any failure inside into one that names a screenshot, the page source and the
    browser's console log (the UI's own errors, e.g. behind an "Oops. Something went wrong")."""
    try:
        yield
    except Exception as error:
        screenshot, source = folder / "ui-failure.png", folder / "ui-failure.html"
        console = folder / "ui-failure-console.log"
        driver.save_screenshot(str(screenshot))
        source.write_text(driver.page_source)
        entries = driver.get_log("browser")
        console.write_text("".join(f"{entry['level']} {entry['message']}\n" for entry in entries))
        raise AssertionError(
            f"{error}\nat {driver.current_url}\nscreenshot: {screenshot}\n"
            f"page source: {source}\nbrowser console: {console}"
        ) from error


def wait_for(
    driver: WebDriver, condition: Callable[[WebDriver], Any], what: str, timeout: float = UI_WAIT
) -> Any:
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(condition)
    except TimeoutException:
        raise AssertionError(f"the UI did not show {what} within {timeout:.0f} s") from None


def click(driver: WebDriver, path: str, what: str) -> None:
    """Click the element at XPath ``path`` once it takes the click (a toast sliding in
    intercepts clicks meant for what is under it)."""

    def clicked(driver: WebDriver) -> bool:
        for element in driver.find_elements(By.XPATH, path):
            try:
                if element.is_displayed() and element.is_enabled():
                    element.click()
                    return True
            except (StaleElementReferenceException, ElementClickInterceptedException):
                continue
        return False

    wait_for(driver, clicked, f"{what} that takes a click")


def wait_reloading(
    driver: WebDriver, condition: Callable[[WebDriver], Any], what: str, timeout: float = RUN_WAIT
) -> Any:
    """Wait for ``condition``, reloading the page every few seconds: the UI does not always
    refresh a list when the server's data changes (in one CI run the deployment page still
    said "No runs found" 30 s after its run had completed)."""
    reloaded = [time.monotonic()]

    def met(driver: WebDriver) -> Any:
        result = condition(driver)
        if not result and time.monotonic() - reloaded[0] > RELOAD_SECONDS:
            driver.refresh()
            reloaded[0] = time.monotonic()
        return result

    return wait_for(driver, met, what, timeout)


def open_new_run(driver: WebDriver) -> bool:
    """Follow the deployment page's link to its new run, if the runs list shows it."""
    for element in driver.find_elements(By.XPATH, "//a[contains(@href, '/runs/flow-run/')]"):
        try:
            if element.is_displayed():
                element.click()
                return True
        except (StaleElementReferenceException, ElementClickInterceptedException):
            continue
    return False


def click_button(driver: WebDriver, text: str) -> None:
    click(driver, f"//button[normalize-space()='{text}']", f"a {text!r} button")


#: XPath of a parameter's block in the run form, by its label.
FIELD_PATH = (
    "//span[normalize-space()='{name}' or normalize-space()='{name} (Optional)']"
    "/ancestor::div[contains(concat(' ', @class, ' '), ' schema-form-property ')][1]"
)


def form_field(driver: WebDriver, name: str) -> WebElement:
    """A parameter's block in the run form: its label (``name`` or ``name (Optional)``) with
    its description and input."""
    found: WebElement = wait_for(
        driver,
        ec.visibility_of_element_located((By.XPATH, FIELD_PATH.format(name=name))),
        f"the parameter {name}",
    )
    return found


def run_state(driver: WebDriver) -> str | None:
    """The final state the flow run page shows, if any."""
    for state in ("Completed", "Failed", "Crashed", "Cancelled"):
        if driver.find_elements(By.XPATH, f"//*[normalize-space()='{state}']"):
            return state
    return None


def artifact_cards(driver: WebDriver) -> set[str]:
    """The artifact keys the Artifacts tab lists (each card links to its artifact's page)."""
    cards = driver.find_elements(By.XPATH, "//a[contains(@href, '/artifacts/artifact/')]")
    return {line for card in cards for line in card.text.splitlines()}


def test_custom_run_from_the_ui(
    cli: Callable[..., subprocess.CompletedProcess[str]],
    client: SyncPrefectClient,
    worker: Path,
    browser: WebDriver,
    prefect_server: Any,
    tmp_path: Path,
) -> None:
    deployed = cli("deploy")
    assert deployed.returncode == 0, deployed.stderr
    deployment = client.read_deployment_by_name("hunt/ui-processes")
    assert deployment.parameter_openapi_schema is not None
    schema = deployment.parameter_openapi_schema["properties"]

    with evidence_on_failure(browser, tmp_path):
        browser.get(f"{prefect_server.ui_url}/deployments/deployment/{deployment.id}")
        click_button(browser, "Run")
        click_button(browser, "Custom run")

        for name in SHOWN:
            description = " ".join(schema[name]["description"].split())  # as rendered
            assert description in form_field(browser, name).text, f"{name}: no {description!r}"
        dry_run = form_field(browser, "dry_run").find_element(By.XPATH, ".//*[@role='switch']")
        dry_run.click()
        wait_for(
            browser,
            lambda _: dry_run.get_attribute("aria-checked") == "true",
            "dry_run switched on",
        )
        click(
            browser,
            f"{FIELD_PATH.format(name='source')}//button[normalize-space()='str']",
            "source's str type",
        )
        # choosing the type re-renders the block: its text box is found anew
        form_field(browser, "source").find_element(By.XPATH, ".//textarea").send_keys(SOURCE)
        click_button(browser, "Submit")

        # The deployment page lists the new run (the toast's "View run" button is gone after
        # 5 s, too soon on a busy machine); its name is random, so it is found by its link.
        wait_reloading(browser, open_new_run, "a link to the new run")
        wait_for(browser, ec.url_contains("/runs/flow-run/"), "the new run's page")
        flow_run_id = browser.current_url.split("/runs/flow-run/")[1].split("?")[0]
        state = wait_reloading(browser, run_state, "a final state of the run")
        assert state == "Completed", f"the run ended {state}"

        tab = "//li[normalize-space()='Artifacts']"
        wait_for(browser, ec.element_to_be_clickable((By.XPATH, tab)), "the Artifacts tab").click()
        wait_for(  # no reload here: it would leave the Artifacts tab
            browser,
            lambda driver: artifact_cards(driver) >= ARTIFACTS,
            f"the artifacts {sorted(ARTIFACTS)}",
        )

    # The run the page showed is the one the form made: the deployment's only run, with the
    # parameters set in the form.
    runs = client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
    )
    assert [str(run.id) for run in runs] == [flow_run_id]
    [run] = runs
    assert run.state is not None and run.state.is_completed(), run.state
    assert run.parameters["dry_run"] is True
    assert run.parameters["source"] == SOURCE
    assert run.parameters["book"] == "hunts/ui_processes.yaml"
    artifacts = client.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
    )
    assert {artifact.key for artifact in artifacts} >= ARTIFACTS
    [alerts] = [artifact for artifact in artifacts if artifact.key == "alerts"]
    assert "would record" in str(alerts.data), alerts.data  # a dry run records none
