"""Case files as pytest collectors and cases as pytest items."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.deadline import backstop
from conformance.errors import CaseFileError, Location
from conformance.loader import load_case_file
from conformance.model import Case
from conformance.report.collect import case_payload, verdict_payload
from conformance.runner import Outcome, Verdict, run_case, skip_reason
from pytest_autograd_spec.state import marker_name, spec_of


class CaseFileCollector(pytest.File):
    """One YAML case file; a file that fails to load becomes one error item."""

    def collect(self) -> Iterator[pytest.Item]:
        # Loading allocates many small objects that all live on: the collector's
        # passes over them would only cost time (pytest_collection_finish
        # freezes them for the run).
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield from self._collect()
        finally:
            if enabled:
                gc.enable()

    def _collect(self) -> Iterator[pytest.Item]:
        try:
            spec = spec_of(self.config)
            case_file = load_case_file(
                self.path,
                display=self.nodeid,
                topic=self.path.parent.name,
                cache=None if spec is None else spec.cache,
            )
        except CaseFileError as exc:
            yield CaseFileErrorItem.from_parent(self, name="load", error=exc)
            return
        except Exception as exc:  # the loader's own bug: still one located error, not a stop
            error = CaseFileError(
                Location(self.nodeid), f"loading raised {type(exc).__name__}: {exc}"
            )
            yield CaseFileErrorItem.from_parent(self, name="load", error=error)
            return
        self.config.addinivalue_line(
            "markers",
            f"{marker_name('topic', case_file.topic)}: autograd cases of topic {case_file.topic}",
        )
        for case in case_file.cases:
            item = CaseItem.from_parent(self, name=case.id, case=case)
            item.add_marker(marker_name("topic", case.topic))
            item.add_marker(marker_name("kind", case.kind))
            # -m selects by what a case uses: its steps' needs and what its checks read.
            for capability in sorted(case.capabilities | case.checked_capabilities):
                item.add_marker(marker_name("cap", capability))
            yield item


def _skip(reason: str) -> BaseException:
    """A skip reported at the case's YAML line (``-rs``), not at this module's."""
    return pytest.skip.Exception(reason, _use_item_location=True)


class CaseFailure(Exception):
    """The case does not hold, or could not be judged (an adapter error, a timeout)."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict


class CaseItem(pytest.Item):
    """One case, run on the session's backend."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.verdict: Verdict | None = None
        #: The reason this case is on a known-failure list, if it is.
        self.listed_reason: str | None = None
        self._payload: dict[str, Any] | None = None

    def payload(self) -> dict[str, Any]:
        """The case's data for its reports: built once, after the lists are read."""
        if self._payload is None:
            self._payload = case_payload(self.case, None, self.listed_reason)
        if self.verdict is not None and self._payload["verdict"] is None:
            self._payload = {**self._payload, "verdict": verdict_payload(self.case, self.verdict)}
        return self._payload

    def setup(self) -> None:
        spec = spec_of(self.config)
        assert spec is not None
        reason = skip_reason(self.case, spec.backend, spec.options)
        if reason:
            raise _skip(reason)

    def runtest(self) -> None:
        spec = spec_of(self.config)
        assert spec is not None
        with backstop(spec.options.timeout, spec.timeout_dump):
            self.verdict = run_case(self.case, spec.backend, spec.options)
        if self.verdict.outcome is Outcome.SKIPPED:
            raise _skip(self.verdict.reason)
        if self.verdict.outcome is not Outcome.PASSED:
            raise CaseFailure(self.verdict)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailure):
            spec = spec_of(self.config)
            backend = spec.backend.name if spec else "the backend"
            case = self.case
            verdict = excinfo.value.verdict
            headline = {
                Outcome.ERROR: "could not be judged: the adapter failed",
                Outcome.TIMED_OUT: "timed out",
            }.get(verdict.outcome, "does not hold")
            lines = [
                f"{case.location}: case {case.id!r} ({case.kind}) {headline} on {backend}",
                f"  rule: {case.description}",
            ]
            for mismatch in verdict.mismatches:
                where = f"{case.path}:{mismatch.line}: " if mismatch.line else ""
                lines.append(f"  - {where}{mismatch.variable}: {mismatch.message}")
            for unchecked in verdict.unchecked:
                lines.append(
                    f"  (unchecked: {case.path}:{unchecked.line}: {unchecked.variable}"
                    f" {unchecked.check} needs {unchecked.needs})"
                )
            if verdict.traceback:
                lines += ["", "adapter traceback:", verdict.traceback.rstrip()]
            return "\n".join(lines)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"{self.case.topic}: {self.case.id}"


class CaseFileErrorItem(pytest.Item):
    """Stands for a case file that cannot be loaded: one error, the other files still run."""

    def __init__(self, *, error: CaseFileError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def setup(self) -> None:
        raise self.error

    def runtest(self) -> None:  # pragma: no cover - setup always raises
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFileError):
            return f"invalid case file: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.error.location.line - 1, 0), "invalid case file"
