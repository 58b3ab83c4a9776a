"""Per-session hooks: known-failure and skip lists, outcomes, the JSON report, the summary.

Outcomes are gathered from test reports only (never from items), so under
pytest-xdist the controller sees exactly what a serial run sees: each case
item attaches its data to its reports as the plain attribute
``autograd_case``, which xdist carries across processes like any report field.
"""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict
from typing import Any

import pytest

from conformance import SCHEMA_VERSION, __version__
from conformance.knownfail import KnownList
from conformance.report.collect import OutcomeCollector, skip_text
from conformance.report.model import RunReport
from conformance.report.summary import NO_CAPABILITY, format_percent, summary_line, tally
from pytest_autograd_spec.items import CaseItem
from pytest_autograd_spec.state import SpecSession

REPORT_ATTRIBUTE = "autograd_case"
FILE_ERROR_ATTRIBUTE = "autograd_file_error"


class AutogradSpecWarning(pytest.PytestWarning):
    """A problem with the run's configuration that does not stop it, e.g. a stale list entry."""


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _speaks_for_all(config: pytest.Config) -> bool:
    """Whether this process warns about the collection: the only one, or xdist's first worker.

    Under xdist the controller collects nothing; every worker collects the
    same cases, so one of them warns and xdist passes its warning on.
    """
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    return workerinput is None or workerinput.get("workerid") == "gw0"


def _listed(lists: list[KnownList], nodeid: str) -> tuple[str, str] | None:
    for known in lists:
        reason = known.reason_for(nodeid)
        if reason is not None:
            return reason, known.path
    return None


class SpecReporter:
    def __init__(self, spec: SpecSession, config: pytest.Config) -> None:
        self.spec = spec
        self.config = config
        self.collector = OutcomeCollector()
        self.file_errors: list[str] = []
        self.report: RunReport | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Mark listed cases before -k/-m deselect any, so staleness is judged on the whole spec."""
        cases = [item for item in items if isinstance(item, CaseItem)]
        for item in cases:
            skipped = _listed(self.spec.skips, item.nodeid)
            if skipped is not None:
                item.add_marker(pytest.mark.skip(reason=f"listed in {skipped[1]}: {skipped[0]}"))
            failing = _listed(self.spec.xfails, item.nodeid)
            if failing is not None:
                item.listed_reason = failing[0]
                item.add_marker(pytest.mark.xfail(reason=failing[0], strict=True))
        if not _speaks_for_all(self.config):
            return
        nodeids = [item.nodeid for item in cases]
        for known in [*self.spec.xfails, *self.spec.skips]:
            for entry in known.unmatched(nodeids):
                message = (
                    f"{entry.location}: {entry.pattern!r} ({entry.reason}) matches no case;"
                    " remove it from the list"
                )
                try:
                    # Located at the list's line, so the warnings summary points there.
                    warnings.warn_explicit(
                        AutogradSpecWarning(message),
                        category=AutogradSpecWarning,
                        filename=entry.location.path,
                        lineno=entry.location.line,
                    )
                except AutogradSpecWarning:  # -W error: a stale list stops the run cleanly
                    raise pytest.UsageError(f"stale list entry: {message}") from None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if _is_worker(self.config):
            return
        error = getattr(report, FILE_ERROR_ATTRIBUTE, None)
        if error is not None and report.when == "setup":
            self.file_errors.append(str(error))
        payload = getattr(report, REPORT_ATTRIBUTE, None)
        if payload is None:
            return
        self.collector.add(
            report.nodeid,
            report.when,
            report.outcome,
            payload,
            xfail_reason=getattr(report, "wasxfail", None),
            skip_reason=skip_text(report.longrepr) if report.skipped else "",
            duration=report.duration,
        )

    def build_report(self) -> RunReport:
        backend = self.spec.backend
        return RunReport(
            backend=backend.name,
            backend_spec=self.spec.backend_spec,
            backend_version=str(backend.version),
            device=str(backend.device),
            dtype=self.spec.options.dtype,
            strict=self.spec.options.strict,
            spec_version=SCHEMA_VERSION,
            tool_version=__version__,
            capabilities=sorted(backend.capabilities),
            conventions=dict(sorted(backend.conventions.items())),
            cases=self.collector.records(),
            file_errors=sorted(self.file_errors),
        )

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if _is_worker(self.config):
            return
        self.report = self.build_report()
        if self.spec.report_path is not None:
            self.spec.report_path.parent.mkdir(parents=True, exist_ok=True)
            self.spec.report_path.write_text(self.report.dumps(), encoding="utf-8")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        report = self.report
        if report is None or not report.cases:
            return
        table: dict[str, Counter[str]] = defaultdict(Counter)
        for case in report.cases:
            for capability in case.capabilities or [NO_CAPABILITY]:
                table[capability][case.outcome] += 1
        terminalreporter.section("autograd conformance by capability")
        terminalreporter.write_line(
            f"{'capability':<20} {'passed':>7} {'failed':>7} {'skipped':>8} {'xfailed':>8}"
            f" {'conformance':>12}"
        )
        for capability in sorted(table):
            counts = table[capability]
            failed = counts["failed"] + counts["error"]
            passed = counts["passed"] + counts["xpassed"]
            applicable = passed + failed + counts["xfailed"]
            percent = format_percent(100.0 * passed / applicable if applicable else None)
            terminalreporter.write_line(
                f"{capability:<20} {passed:>7} {failed:>7} {counts['skipped']:>8}"
                f" {counts['xfailed']:>8} {percent:>12}"
            )
        if self.spec.report_path is not None:
            terminalreporter.write_line(f"autograd report: {self.spec.report_path}")
        total = tally(report.cases)
        line = summary_line(report)
        markup = {"green": True} if total.conforming == total.applicable else {"yellow": True}
        terminalreporter.write_line(line, bold=True, **markup)
