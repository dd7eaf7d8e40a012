"""Which stix-shifter connector modules exist, which are installed, and what they default to.

A profile that names a connector wrongly fails deep inside stix-shifter with "unsupported data
source" or "No module named ...". Users need to know which of three things is wrong, because
each has a different fix:

- the name is misspelled: show the installed connectors and the closest name;
- the name is a real stix-shifter connector that is not installed: show the pip command;
- the module is installed but cannot be imported (a dependency is missing): show the error.

:data:`KNOWN_CONNECTORS` is the list of connector modules published for stix-shifter 8.1.3 (the
``stix-shifter-modules-*`` packages), used only to tell the first case from the second.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import json
import pkgutil
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from huntline.errors import DataSourceError
from huntline.fetch.base import DEFAULT_PAGE_SIZE

#: Connector modules published for stix-shifter 8.1.3 (module names, with underscores).
KNOWN_CONNECTORS = frozenset(
    {
        "alertflex", "arcsight", "async_template", "aws_athena", "aws_cloud_watch_logs",
        "aws_guardduty", "azure_log_analytics", "azure_sentinel", "bigfix", "carbonblack",
        "cbcloud", "cisco_secure_email", "crowdstrike", "crowdstrike_alerts",
        "crowdstrike_logscale", "cybereason", "darktrace", "datadog", "demo_template",
        "elastic_ecs", "error_test", "gcp_chronicle", "guardium", "ibm_security_verify",
        "infoblox", "msatp", "mysql", "nozomi_vantage", "okta", "onelogin", "paloalto",
        "proofpoint", "proxy", "qradar", "qradar_perf_test", "reaqta", "reversinglabs", "rhacs",
        "secretserver", "security_advisor", "sentinelone", "splunk", "stix_bundle", "sumologic",
        "symantec_endpoint_security", "synchronous_template", "sysdig", "tanium",
        "trellix_endpoint_security_hx", "trendmicro_vision_one", "vectra",
    }
)  # fmt: skip


#: Connectors whose ``results`` call reads the whole result again for each page, then skips to
#: the page's offset, so paging through N results in pages of P reads about N * N / 2P of them.
#: In stix-shifter 8.1.3: ``mysql`` (``api_client.run_search`` runs the whole query;
#: ``bench/fetch_mysql.py``: 20k rows took 14.5 s in pages of 1,000 and 7.1 s in one page) and
#: ``stix_bundle`` (``create_results_connection`` downloads and parses the whole bundle).
REREADS_EVERY_PAGE = frozenset({"mysql", "stix_bundle"})

#: The page size of a connector in :data:`REREADS_EVERY_PAGE` when the book sets none: as few
#: pages as memory allows while still streaming. One page of 20,000 results is what the
#: connector holds anyway (raw rows, or the whole bundle it downloaded) plus their STIX:
#: ``bench/fetch_mysql.py`` peaked at 425 MB for 20k rows in one page (274 MB in pages of
#: 1,000), and ``bench/fetch_http.py`` shows the stix_bundle ``get`` it makes as fast as
#: ``file://``. Larger results still stream, 20,000 at a time.
REREADING_PAGE_SIZE = 20_000


def default_page_size(connector: str) -> int:
    """Results per ``results`` call for ``connector`` when the book gives no ``page_size``."""
    if module_name(connector) in REREADS_EVERY_PAGE:
        return REREADING_PAGE_SIZE
    return DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class ConnectorState:
    """Whether a connector module can be used, and if not, why and what to do.

    Attributes:
        name: The module name as the profile spells it (without any ``:dialect`` suffix).
        installed: The module is present under ``stix_shifter_modules``.
        importable: Its entry point imports (all of its dependencies are installed).
        problem: ``None`` when usable, else ``"wrong connector name"``,
            ``"module not installed"`` or ``"module broken"``.
        detail: The import error, for a broken module.
    """

    name: str
    installed: bool
    importable: bool
    problem: str | None = None
    detail: str = ""


def module_name(connector: str) -> str:
    """The module part of a connector name: ``"qradar:events"`` -> ``"qradar"``."""
    return connector.split(":", 1)[0].strip()


def installed_connectors() -> list[str]:
    """The connector modules installed under ``stix_shifter_modules``, sorted."""
    try:
        package = importlib.import_module("stix_shifter_modules")
    except ImportError:
        return []
    return sorted(info.name for info in pkgutil.iter_modules(package.__path__) if info.ispkg)


def stix_shifter_version() -> str:
    """The installed stix-shifter version; connector packages must be pinned to the same."""
    try:
        return importlib.metadata.version("stix-shifter")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def pip_package(connector: str) -> str:
    """The PyPI requirement that installs ``connector``, pinned to stix-shifter's version."""
    package = "stix-shifter-modules-" + module_name(connector).replace("_", "-")
    return f"{package}=={stix_shifter_version()}"


@cache
def connector_state(connector: str) -> ConnectorState:
    """Check that ``connector`` is installed and importable; imports its entry point once."""
    name = module_name(connector)
    if name not in installed_connectors():
        problem = "module not installed" if name in KNOWN_CONNECTORS else "wrong connector name"
        return ConnectorState(name, installed=False, importable=False, problem=problem)
    try:
        importlib.import_module(f"stix_shifter_modules.{name}.entry_point")
    except Exception as error:  # any import-time failure makes the module unusable
        detail = f"{type(error).__name__}: {error}"
        return ConnectorState(name, True, False, problem="module broken", detail=detail)
    return ConnectorState(name, installed=True, importable=True)


def connector_error(connector: str, *, source: str) -> DataSourceError | None:
    """The error to raise for an unusable ``connector`` in data source ``source``, else None."""
    state = connector_state(connector)
    if state.problem is None:
        return None
    installed = ", ".join(installed_connectors()) or "(none)"
    where = f"data source {source!r}"
    if state.problem == "wrong connector name":
        close = difflib.get_close_matches(state.name, [*installed_connectors(), *KNOWN_CONNECTORS])
        guess = f"did you mean {close[0]!r}? " if close else ""
        return DataSourceError(
            f"{where}: unknown stix-shifter connector {state.name!r}; "
            f"installed connectors: {installed}",
            source=source,
            connector=state.name,
            problem=state.problem,
            hint=f"{guess}fix the profile's connector, or install the module that provides it",
        )
    if state.problem == "module not installed":
        return DataSourceError(
            f"{where}: stix-shifter connector module {state.name!r} is not installed; "
            f"installed connectors: {installed}",
            source=source,
            connector=state.name,
            problem=state.problem,
            hint=f"pip install {pip_package(state.name)}",
        )
    return DataSourceError(
        f"{where}: stix-shifter connector module {state.name!r} is installed but cannot be "
        f"loaded: {state.detail}",
        source=source,
        connector=state.name,
        problem=state.problem,
        hint=f"reinstall it with its dependencies: pip install --force-reinstall "
        f"{pip_package(state.name)}",
    )


@cache
def option_spec(connector: str, option: str) -> dict[str, Any]:
    """The connector's declared ``connection.options.<option>`` (default, min, max), or {}.

    Read from the module's ``configuration/config.json``, which is where stix-shifter itself
    takes option defaults from.
    """
    try:
        text = (
            resources.files(f"stix_shifter_modules.{module_name(connector)}")
            .joinpath("configuration", "config.json")
            .read_text(encoding="utf-8")
        )
        spec = json.loads(text)["connection"]["options"][option]
    except (ImportError, OSError, KeyError, TypeError, ValueError):
        return {}
    return dict(spec) if isinstance(spec, dict) else {}
