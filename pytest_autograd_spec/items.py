"""Case files as pytest collectors and cases as pytest items."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.errors import CaseFileError
from conformance.loader import load_case_file
from conformance.model import Case
from conformance.runner import Outcome, Verdict, run_case, skip_reason
from pytest_autograd_spec.state import marker_name, spec_of


class CaseFileCollector(pytest.File):
    """One YAML case file; a file that fails to load becomes one error item."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            case_file = load_case_file(self.path, display=self.nodeid, topic=self.path.parent.name)
        except CaseFileError as exc:
            yield CaseFileErrorItem.from_parent(self, name="load", error=exc)
            return
        self.config.addinivalue_line(
            "markers",
            f"{marker_name('topic', case_file.topic)}: autograd cases of topic {case_file.topic}",
        )
        for case in case_file.cases:
            item = CaseItem.from_parent(self, name=case.id, case=case)
            item.add_marker(marker_name("topic", case.topic))
            item.add_marker(marker_name("kind", case.kind))
            for capability in sorted(case.capabilities):
                item.add_marker(marker_name("cap", capability))
            yield item


def _skip(reason: str) -> BaseException:
    """A skip reported at the case's YAML line (``-rs``), not at this module's."""
    return pytest.skip.Exception(reason, _use_item_location=True)


class CaseFailure(Exception):
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

    def setup(self) -> None:
        spec = spec_of(self.config)
        assert spec is not None
        reason = skip_reason(self.case, spec.backend, spec.options)
        if reason:
            raise _skip(reason)

    def runtest(self) -> None:
        spec = spec_of(self.config)
        assert spec is not None
        self.verdict = run_case(self.case, spec.backend, spec.options)
        if self.verdict.outcome is Outcome.SKIPPED:
            raise _skip(self.verdict.reason)
        if self.verdict.outcome is Outcome.FAILED:
            raise CaseFailure(self.verdict)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailure):
            spec = spec_of(self.config)
            backend = spec.backend.name if spec else "the backend"
            case = self.case
            lines = [
                f"{case.location}: case {case.id!r} ({case.kind}) does not hold on {backend}",
                f"  rule: {case.description}",
            ]
            for mismatch in excinfo.value.verdict.mismatches:
                where = f"{case.path}:{mismatch.line}: " if mismatch.line else ""
                lines.append(f"  - {where}{mismatch.variable}: {mismatch.message}")
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
