"""The run report: what one run of the spec on one backend observed, as JSON.

The plugin fills it from pytest's test reports, so a parallel (pytest-xdist)
run builds it in the controller from the same data a serial run sees; the
``report`` sub-command reads it back to draw tables and pages. Its JSON form
is described by ``report.schema.json`` beside this module.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

REPORT_FORMAT = "1.0"

#: Every outcome a case can have in a report. "xfailed" and "xpassed" are
#: cases on a known-failure list that failed as expected, or now pass;
#: "error" is an error of the adapter's own code (or of pytest around the
#: case); "crashed" a case during which the process died; "timed-out" one
#: that ran past --autograd-timeout; "interrupted" one that was running when
#: the run was interrupted; "not-run" one that was selected but never started.
OUTCOMES = (
    "passed",
    "failed",
    "xfailed",
    "xpassed",
    "skipped",
    "error",
    "crashed",
    "timed-out",
    "interrupted",
    "not-run",
)
#: Outcomes that say the engine conforms to the case.
CONFORMING = frozenset({"passed", "xpassed"})
#: Outcomes of cases that ran (or should have): the denominator of conformance.
APPLICABLE = frozenset({"passed", "failed", "xfailed", "xpassed", "error", "crashed", "timed-out"})
#: Outcomes of cases that did not finish for a reason outside the engine: counted nowhere.
UNFINISHED = frozenset({"interrupted", "not-run"})


class ReportError(Exception):
    """A report file that cannot be read or does not follow the schema."""


@dataclass(frozen=True)
class MismatchRecord:
    variable: str
    check: str
    message: str
    line: int  # YAML line in the case's file, 0 when unknown


@dataclass(frozen=True)
class UncheckedRecord:
    """An expectation the backend could not be asked (see runner.Unchecked)."""

    variable: str
    check: str
    needs: str
    line: int


@dataclass(frozen=True)
class RaisedRecord:
    """The exception a step raised: what answered an expected error, or what broke the case."""

    type: str
    message: str
    line: int  # YAML line of the step
    misuse: str | None  # the misuse the case expected there, if it expected one
    emulated: bool  # raised by the adapter on the engine's behalf


@dataclass
class CaseRecord:
    """One case's outcome; ``nodeid`` is the id pytest shows and ``-k`` selects."""

    id: str
    nodeid: str
    path: str
    line: int
    topic: str
    kind: str
    description: str
    capabilities: list[str]
    # A record starts as not run: only a case that finished earns another outcome.
    outcome: str = "not-run"
    reason: str = ""  # why skipped, or why listed as a known failure
    mismatches: list[MismatchRecord] = field(default_factory=list)
    duration: float = 0.0
    raised: RaisedRecord | None = None
    unchecked: list[UncheckedRecord] = field(default_factory=list)
    traceback: str = ""  # of an adapter error


@dataclass
class RunReport:
    backend: str  # the adapter's name
    backend_spec: str  # what --autograd-backend said
    backend_version: str
    device: str
    dtype: str
    strict: bool
    spec_version: str  # the case schema version
    tool_version: str  # the package version
    capabilities: list[str]  # those the adapter declares
    conventions: dict[str, str] = field(default_factory=dict)  # those the adapter declares
    cases: list[CaseRecord] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data = {"report_format": REPORT_FORMAT, **data}
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, data: Any) -> RunReport:
        validate_report(data)
        fields = {key: value for key, value in data.items() if key != "report_format"}
        cases = [case_record(case) for case in fields.pop("cases")]
        return cls(**fields, cases=cases)


def case_record(data: dict[str, Any]) -> CaseRecord:
    """A CaseRecord from its JSON form (a report's or a journal's)."""
    raised = data.get("raised")
    return CaseRecord(
        **{
            **data,
            "mismatches": [MismatchRecord(**m) for m in data.get("mismatches", [])],
            "unchecked": [UncheckedRecord(**u) for u in data.get("unchecked", [])],
            "raised": None if raised is None else RaisedRecord(**raised),
        }
    )


@cache
def report_schema() -> dict[str, Any]:
    path = Path(__file__).resolve().parent / "report.schema.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def validate_report(data: Any) -> None:
    """Raise ReportError naming the first place where ``data`` breaks the schema."""
    validator = jsonschema.Draft202012Validator(report_schema())
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    except RecursionError:
        # The schema's depth is fixed; only data nested far deeper gets here.
        raise ReportError("(top level): nested far deeper than a report") from None
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
        raise ReportError(f"{where}: {message}")


def load_report(path: Path) -> RunReport:
    """Read one report; whatever the file holds, the only error is a one-line ReportError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ReportError(f"{path}: not a report: JSON nested too deeply to read") from None
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: {exc}") from None
    try:
        return RunReport.from_json(data)
    except ReportError as exc:
        raise ReportError(f"{path}: does not follow the report schema: {exc}") from None
