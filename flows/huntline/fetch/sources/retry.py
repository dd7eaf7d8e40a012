"""Calling a stix-shifter connector: per-call timeout, retries with backoff, clear errors.

stix-shifter reports most failures as an answer ``{"success": False, "code": ..., "error": ...}``
rather than by raising, and its ``code`` is not always right (mysql 8.1.3 maps MySQL's 2003
"Can't connect" to ``authentication_fail``, and "Access denied" to ``unknown``). So a failure is
classified from the connector's message first and its code second, into a :class:`Problem`.

Transient problems are retried with exponential backoff; everything else fails at once, in the
connector's own words plus a hint. Transient means the same call may well succeed later:

``unreachable``
    connection refused or reset, DNS failure, no route, lost connection; codes
    ``service_unavailable``; MySQL 2003, 2006, 2013.
``timeout``
    the call took longer than the per-call timeout, or the connector says it timed out.
``busy``
    rate limited or overloaded: ``too_many_requests``, HTTP 429/502/503/504, MySQL 1040
    (too many connections), 1205 (lock wait timeout), 1213 (deadlock).

Permanent: ``bad credentials`` (``authentication_fail``, "Access denied", HTTP 401),
``forbidden`` (403), ``certificate``, ``query rejected`` (``invalid_query``, translation and
mapping errors), ``invalid profile`` (missing parameters) and ``error`` (anything else, e.g. a
missing table). Retrying those would only delay the failure the user has to fix.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from huntline.errors import DataSourceError

log = logging.getLogger(__name__)


class Problem(StrEnum):
    """What kind of failure a connector reported; decides retrying and the hint."""

    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    BUSY = "busy"
    BAD_CREDENTIALS = "bad credentials"
    FORBIDDEN = "forbidden"
    CERTIFICATE = "certificate"
    BAD_QUERY = "query rejected"
    BAD_PROFILE = "invalid profile"
    OTHER = "error"

    @property
    def transient(self) -> bool:
        return self in {Problem.UNREACHABLE, Problem.TIMEOUT, Problem.BUSY}


HINTS = {
    Problem.UNREACHABLE: "check that the data source is running and reachable from this host",
    Problem.TIMEOUT: "the data source is slow or overloaded: retry later, narrow the window, "
    "or raise the timeout",
    Problem.BUSY: "the data source is overloaded or rate limiting: retry later",
    Problem.BAD_CREDENTIALS: "check the credentials in the profile's config",
    Problem.FORBIDDEN: "the account lacks permission for this query: check its roles",
    Problem.CERTIFICATE: "check the connection's certificate settings (cert, selfSignedCert)",
    Problem.BAD_QUERY: "check that the connector supports every object and operator used",
    Problem.BAD_PROFILE: "compare the profile's connection.options with the connector's "
    "documented options",
}

_OBJECT_ADDRESS = re.compile(r"<([\w.]+) object at 0x[0-9a-fA-F]+>")

# Checked in order; the first match wins. Messages beat codes (see the module docstring).
_MESSAGE_RULES: list[tuple[Problem, re.Pattern[str]]] = [
    (
        Problem.UNREACHABLE,
        re.compile(
            r"can'?t connect|cannot connect|connection refused|connection reset|"
            r"failed to establish|name or service not known|no route to host|"
            r"client_connector_error|lost connection|server has gone away|"
            r"temporary failure in name resolution|\((2003|2006|2013),",
            re.IGNORECASE,
        ),
    ),
    (Problem.TIMEOUT, re.compile(r"timed? ?out|timeout_error|\(1205,", re.IGNORECASE)),
    (
        Problem.BUSY,
        re.compile(
            r"too many requests|too_many_requests|too many connections|service unavailable|"
            r"bad gateway|gateway timeout|\b(429|502|503|504)\b|\((1040|1213),",
            re.IGNORECASE,
        ),
    ),
    (
        Problem.BAD_CREDENTIALS,
        re.compile(r"access denied|unauthori[sz]ed|authenticat|\b401\b|\(1045,", re.IGNORECASE),
    ),
    (Problem.FORBIDDEN, re.compile(r"forbidden|\b403\b", re.IGNORECASE)),
    (Problem.CERTIFICATE, re.compile(r"certificate|ssl", re.IGNORECASE)),
    (Problem.BAD_PROFILE, re.compile(r"missing_params|missing required", re.IGNORECASE)),
]
_CODE_RULES = {
    "service_unavailable": Problem.UNREACHABLE,
    "timeout": Problem.TIMEOUT,
    "too_many_requests": Problem.BUSY,
    "authentication_fail": Problem.BAD_CREDENTIALS,
    "forbidden": Problem.FORBIDDEN,
    "certificate_fail": Problem.CERTIFICATE,
    "invalid_query": Problem.BAD_QUERY,
    "translation_error": Problem.BAD_QUERY,
    "mapping_error": Problem.BAD_QUERY,
    "not_implemented": Problem.BAD_QUERY,
    "invalid_parameter": Problem.BAD_PROFILE,
}


def classify(code: Any, message: str) -> Problem:
    """The :class:`Problem` behind a connector failure with ``code`` and ``message``."""
    for problem, pattern in _MESSAGE_RULES:
        if pattern.search(message):
            return problem
    return _CODE_RULES.get(str(code), Problem.OTHER)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure.

    The n-th retry waits ``base_delay * factor**(n-1)`` seconds, capped at ``max_delay`` and
    scaled by a random factor in [0.5, 1] so that many flows hitting one recovering SIEM do not
    retry in lock step. ``attempts`` counts the first call: 1 means never retry.
    """

    attempts: int = 4
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 30.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise DataSourceError(f"retry attempts must be at least 1, got {self.attempts}")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        delay = min(self.max_delay, self.base_delay * self.factor ** (retry - 1))
        return delay * random.uniform(0.5, 1.0) if self.jitter else delay


NO_RETRY = RetryPolicy(attempts=1)


@dataclass
class Caller:
    """Calls one data source's connector and turns its failures into :class:`DataSourceError`.

    Attributes:
        name: The data source name, for messages.
        where: Its one-line description (connector and address, no credentials).
        secrets: Strings to blank out of every message (passwords, keys, loaded secrets).
        policy: Retry policy for transient failures.
        call_timeout: Seconds one call may take before it counts as a (transient) timeout.
    """

    name: str
    where: str
    secrets: list[str] = field(default_factory=list, repr=False)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    call_timeout: float = 300.0

    async def call(self, step: str, make_call: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``make_call()`` (a fresh awaitable per attempt) until it succeeds or gives up.

        Raises:
            DataSourceError: A permanent failure, or a transient one on the last attempt. The
                message is the connector's own, redacted; context has ``step``, ``code``,
                ``problem`` and ``attempts``.
        """
        attempt = 0
        while True:
            attempt += 1
            answer = await self._attempt(make_call)
            if not failed(answer):
                return answer
            problem = classify(answer.get("code"), str(answer.get("error", "")))
            if not problem.transient or attempt >= self.policy.attempts:
                raise self.error(step, answer, problem=problem, attempts=attempt)
            delay = self.policy.delay(attempt)
            log.warning(
                "%s: %s failed (%s: %s); retry %d of %d in %.1f s",
                self.name,
                step,
                problem,
                self.redact(str(answer.get("error", ""))),
                attempt,
                self.policy.attempts - 1,
                delay,
            )
            await asyncio.sleep(delay)

    async def _attempt(self, make_call: Callable[[], Awaitable[Any]]) -> Any:
        """One call; a raised exception or a timeout becomes a failed answer."""
        try:
            return await asyncio.wait_for(make_call(), self.call_timeout)
        except TimeoutError:
            return {
                "success": False,
                "code": "timeout",
                "error": f"no answer within {self.call_timeout:g} s",
            }
        except Exception as error:  # a connector bug must still end as a DataSourceError
            # No traceback in the log: exception texts may carry credentials.
            log.debug("%s: connector call raised %s", self.name, type(error).__name__)
            return {"success": False, "code": "exception", "error": self.redact(f"{error}")}

    def error(
        self, step: str, answer: Any, *, problem: Problem | None = None, attempts: int = 1
    ) -> DataSourceError:
        """The error for a failed answer, in the connector's own (redacted) words."""
        message = answer.get("error", answer) if isinstance(answer, dict) else answer
        code = answer.get("code") if isinstance(answer, dict) else None
        problem = problem or classify(code, str(message))
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        return DataSourceError(
            f"data source {self.name!r} ({self.where}): {step} failed{tries}: "
            f"{self.redact(str(message))}",
            source=self.name,
            step=step,
            code=code,
            problem=str(problem),
            attempts=attempts,
            hint=HINTS.get(problem),
        )

    def redact(self, text: str) -> str:
        """``text`` as it may be shown: every known secret (3 characters or longer) replaced
        by ``***``, and the memory addresses of Python objects' reprs dropped
        (``ssl:<ssl.SSLContext object at 0x7f...>`` becomes ``ssl:<ssl.SSLContext>``), which
        differ on every run, so the same failure reads the same each time."""
        return _OBJECT_ADDRESS.sub(r"<\1>", redact(text, self.secrets))


def failed(answer: Any) -> bool:
    """Whether a stix-shifter answer reports failure (translation answers lack ``success``)."""
    return isinstance(answer, dict) and answer.get("success") is False


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret replaced by ``***``, longest first so none leaks partly."""
    for secret in sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
