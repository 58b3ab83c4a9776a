"""Per-session hooks: known-failure and skip lists, outcomes, the JSON report, the summary.

Outcomes are gathered from test reports only (never from items), so under
pytest-xdist the controller sees exactly what a serial run sees: each case
item attaches its data to its reports as the plain attribute
``autograd_case``, which xdist carries across processes like any report field.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from conformance import SCHEMA_VERSION, __version__
from conformance.backend import engine_version
from conformance.cache import CaseCache
from conformance.knownfail import KnownList
from conformance.loader import CASE_FILE_SUFFIXES, load_case_file
from conformance.report.collect import OutcomeCollector, skip_text
from conformance.report.journal import Journal, journal_path
from conformance.report.model import APPLICABLE, CONFORMING, CaseRecord, RunReport
from conformance.report.summary import (
    NO_CAPABILITY,
    format_percent,
    nothing_applied,
    summary_line,
    tally,
)
from pytest_autograd_spec.items import CaseItem
from pytest_autograd_spec.state import SpecSession

REPORT_ATTRIBUTE = "autograd_case"
FILE_ERROR_ATTRIBUTE = "autograd_file_error"
DUMP_DIR_KEY = "autograd_timeout_dumps"


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


def _is_case_nodeid(nodeid: str) -> bool:
    return nodeid.partition("::")[0].endswith(CASE_FILE_SUFFIXES) and "::" in nodeid


class SpecReporter:
    """Turns pytest's reports into case records, the journal, the report and the summary."""

    def __init__(self, spec: SpecSession, config: pytest.Config) -> None:
        self.spec = spec
        self.config = config
        self.collector = OutcomeCollector()
        self.file_errors: list[str] = []
        self.report: RunReport | None = None
        self.journal: Journal | None = None
        self.dump_dir: Path | None = None  # where xdist workers' backstops write tracebacks

    # Setup -------------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if _is_worker(self.config):
            self._open_worker_dump()
            return
        if self.spec.options.timeout:
            self.dump_dir = Path(tempfile.mkdtemp(prefix="autograd-timeouts-"))
        if self.spec.report_path is not None:
            self.journal = Journal(journal_path(self.spec.report_path), self.build_report())
            self.spec.timeout_dump = self.journal.file

    def _open_worker_dump(self) -> None:
        workerinput: dict[str, Any] = getattr(self.config, "workerinput", {})
        folder = workerinput.get(DUMP_DIR_KEY)
        if folder and self.spec.options.timeout:
            name = f"{workerinput.get('workerid', 'worker')}-{os.getpid()}.txt"
            self.spec.timeout_dump = (Path(folder) / name).open("w", encoding="utf-8")

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist: tell each worker where its timeout backstop writes."""
        if self.dump_dir is not None:
            node.workerinput[DUMP_DIR_KEY] = str(self.dump_dir)

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

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Every selected case gets a record now, as not run, until it earns another.

        The cases and items live until the session ends, so they are moved out
        of the garbage collector's reach (gc.freeze): its passes over them
        cost more than running the cases.
        """
        gc.freeze()
        if _is_worker(self.config):
            return
        for item in session.items:
            if isinstance(item, CaseItem):
                self.collector.expect(item.nodeid, item.payload())

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """xdist: the controller collects nothing itself; the workers say what is selected."""
        for nodeid in ids:
            if _is_case_nodeid(nodeid):
                self.collector.expect(nodeid)

    # Running -----------------------------------------------------------
    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        if _is_worker(self.config) or not _is_case_nodeid(nodeid):
            return
        self.collector.start(nodeid)
        if self.journal is not None:
            self.journal.start(nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if _is_worker(self.config):
            return
        error = getattr(report, FILE_ERROR_ATTRIBUTE, None)
        if error is not None and report.when == "setup":
            self.file_errors.append(str(error))
        payload = getattr(report, REPORT_ATTRIBUTE, None)
        if payload is None:
            if report.when not in ("setup", "call", "teardown") and _is_case_nodeid(report.nodeid):
                self._crashed(report)  # xdist's report for a worker that died mid-case
            return
        record = self.collector.add(
            report.nodeid,
            report.when,
            report.outcome,
            payload,
            xfail_reason=getattr(report, "wasxfail", None),
            skip_reason=skip_text(report.longrepr) if report.skipped else "",
            duration=report.duration,
        )
        if report.when == "teardown" and self.journal is not None:
            self.journal.finish(record)

    def _crashed(self, report: pytest.TestReport) -> None:
        dump = self._take_dumps()
        if dump:
            record = self.collector.crash(report.nodeid, dump, outcome="timed-out")
        else:
            message = str(report.longrepr) if report.longrepr else "the worker process died"
            record = self.collector.crash(report.nodeid, message)
        if self.journal is not None:
            self.journal.finish(record)

    def _take_dumps(self) -> str:
        """Tracebacks a worker's timeout backstop wrote before it ended the worker."""
        if self.dump_dir is None:
            return ""
        texts = []
        for path in sorted(self.dump_dir.glob("*.txt")):
            text = path.read_text(encoding="utf-8", errors="replace")
            if text.strip():
                texts.append(text.strip())
                path.write_text("", encoding="utf-8")
        return "\n".join(texts)

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        """With -v, a passed case names the error that answered it and what went unchecked."""
        payload = getattr(report, REPORT_ATTRIBUTE, None)
        verdict = payload.get("verdict") if payload else None
        if report.when != "call" or not report.passed or not verdict:
            return None
        notes = []
        raised = verdict.get("raised")
        if raised and raised.get("misuse"):
            who = "adapter, emulated" if raised.get("emulated") else raised["type"]
            notes.append(f"{raised['misuse']}: {who}")
        if verdict.get("unchecked"):
            needs = sorted({u["needs"] for u in verdict["unchecked"]})
            notes.append(f"{len(verdict['unchecked'])} unchecked: {', '.join(needs)}")
        if not notes:
            return None
        return "passed", ".", (f"PASSED ({'; '.join(notes)})", {"green": True})

    # The end -------------------------------------------------------------
    def build_report(self) -> RunReport:
        backend = self.spec.backend
        return RunReport(
            backend=backend.name,
            backend_spec=self.spec.backend_spec,
            backend_version=engine_version(backend),
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

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if _is_worker(self.config):
            if self.spec.timeout_dump is not None:
                self.spec.timeout_dump.close()
            return
        if self.config.option.collectonly:  # nothing ran: there is no verdict to give
            if self.journal is not None:
                self.journal.close(remove=True)
            return
        self.collector.finish()
        fill_placeholders(self.collector.records(), self.spec.roots, self.spec.cache)
        self.report = self.build_report()
        if nothing_applied(self.report) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.spec.report_path is not None:
            self.spec.report_path.parent.mkdir(parents=True, exist_ok=True)
            self.spec.report_path.write_text(self.report.dumps(), encoding="utf-8")
        if self.journal is not None:
            self.spec.timeout_dump = None
            self.journal.close(remove=True)
        if self.dump_dir is not None:
            shutil.rmtree(self.dump_dir, ignore_errors=True)

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
            f" {'applicable':>11} {'conformance':>12}"
        )
        for capability in sorted(table):
            counts = table[capability]
            passed = sum(counts[o] for o in CONFORMING)
            applicable = sum(counts[o] for o in APPLICABLE)
            failed = applicable - passed - counts["xfailed"]
            selected = sum(counts.values())
            percent = format_percent(100.0 * passed / applicable if applicable else None)
            terminalreporter.write_line(
                f"{capability:<20} {passed:>7} {failed:>7} {counts['skipped']:>8}"
                f" {counts['xfailed']:>8} {f'{applicable}/{selected}':>11} {percent:>12}"
            )
        if self.spec.report_path is not None:
            terminalreporter.write_line(f"autograd report: {self.spec.report_path}")
        total = tally(report.cases)
        if nothing_applied(report):
            terminalreporter.write_line(
                f"autograd conformance: no case applies to {report.backend}: nothing was"
                f" checked ({total.skipped} of {total.total} cases skipped); the run fails",
                bold=True,
                red=True,
            )
            return
        line = summary_line(report)
        markup = {"green": True} if total.conforming == total.applicable else {"yellow": True}
        terminalreporter.write_line(line, bold=True, **markup)


def fill_placeholders(
    records: list[CaseRecord], roots: list[tuple[Path, str]], cache: CaseCache | None = None
) -> None:
    """Give records known only by node id (xdist, a crash) their case's data, when readable."""
    missing = [record for record in records if not record.description]
    by_file: dict[str, list[CaseRecord]] = defaultdict(list)
    for record in missing:
        by_file[record.path].append(record)
    for display, wanted in by_file.items():
        path = _file_of(display, roots)
        if path is None:
            continue
        try:
            loaded = load_case_file(path, display=display, topic=path.parent.name, cache=cache)
            cases = {case.id: case for case in loaded.cases}
        except Exception:  # the report still names the case by its node id
            continue
        for record in wanted:
            case = cases.get(record.id)
            if case is not None:
                record.line, record.topic, record.kind = case.line, case.topic, case.kind
                record.description = case.description
                record.capabilities = sorted(case.capabilities)


def _file_of(display: str, roots: list[tuple[Path, str]]) -> Path | None:
    for root, prefix in roots:
        if display == prefix:
            return root
        if display.startswith(prefix + "/"):
            return root / display[len(prefix) + 1 :]
    return None
