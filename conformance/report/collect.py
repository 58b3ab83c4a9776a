"""Turn the phases of pytest's test reports into one outcome per case.

The plugin hands over plain data only (strings, numbers, the payload dict a
case item attached to its reports), so the same code builds the report in a
serial run and in a pytest-xdist controller that never saw the items.
"""

from __future__ import annotations

from typing import Any

from conformance.model import Case
from conformance.report.model import (
    CaseRecord,
    MismatchRecord,
    RaisedRecord,
    UncheckedRecord,
)
from conformance.runner import Verdict


def case_payload(case: Case, verdict: Verdict | None, listed_reason: str | None) -> dict[str, Any]:
    """What a case item attaches to its reports: plain data, safe to send between processes.

    pytest-xdist's wire format takes only exact builtins, so every string is
    made a plain ``str`` (the loader's located strings are subclasses) and
    every number an ``int``, ``float`` or ``bool``.
    """
    return {
        "id": str(case.id),
        "path": str(case.path),
        "line": int(case.line),
        "topic": str(case.topic),
        "kind": str(case.kind),
        "description": str(case.description),
        "capabilities": sorted(str(c) for c in case.capabilities),
        "listed": None if listed_reason is None else str(listed_reason),
        "verdict": None if verdict is None else verdict_payload(case, verdict),
    }


def verdict_payload(case: Case, verdict: Verdict) -> dict[str, Any]:
    """The verdict part of a case payload (see case_payload)."""
    raised = verdict.raised
    return {
        "outcome": verdict.outcome.value,
        "reason": str(verdict.reason),
        "duration": float(verdict.duration),
        "mismatches": [
            {
                "variable": str(m.variable),
                "check": str(m.check),
                "message": str(m.message),
                "line": int(m.line),
            }
            for m in verdict.mismatches
        ],
        "unchecked": [
            {
                "variable": str(u.variable),
                "check": str(u.check),
                "needs": str(u.needs),
                "line": int(u.line),
            }
            for u in verdict.unchecked
        ],
        "raised": None
        if raised is None
        else {
            "type": str(raised.type),
            "message": str(raised.message),
            "line": int(case.step_location(raised.line).line),
            "misuse": None if raised.misuse is None else str(raised.misuse),
            "emulated": bool(raised.emulated),
        },
        "traceback": str(verdict.traceback),
    }


def skip_text(longrepr: Any) -> str:
    """The reason of a skipped report; its longrepr is (path, line, "Skipped: reason")."""
    if isinstance(longrepr, (tuple, list)) and len(longrepr) == 3:
        text = str(longrepr[2])
        return text.removeprefix("Skipped: ")
    return "" if longrepr is None else str(longrepr)


class OutcomeCollector:
    """Gathers the setup, call and teardown reports of each case into a CaseRecord.

    A record starts as ``not-run`` when the case is selected, and earns its
    outcome only from the reports of phases that finished: a case during
    which the process died is ``crashed``, one running when the run was
    interrupted is ``interrupted``, and one never started stays ``not-run``.
    """

    def __init__(self) -> None:
        self._records: dict[str, CaseRecord] = {}
        self._started: set[str] = set()
        self._finished: set[str] = set()

    def _record(self, nodeid: str, payload: dict[str, Any] | None) -> CaseRecord:
        record = self._records.get(nodeid)
        if record is None:
            record = placeholder(nodeid) if payload is None else _from_payload(nodeid, payload)
            self._records[nodeid] = record
        elif payload is not None and not record.description:
            fresh = _from_payload(nodeid, payload)
            fresh.outcome, fresh.reason = record.outcome, record.reason
            record = self._records[nodeid] = fresh
        return record

    def expect(self, nodeid: str, payload: dict[str, Any] | None = None) -> None:
        """A selected case: recorded as not run until a report says otherwise."""
        self._record(nodeid, payload)

    def start(self, nodeid: str) -> None:
        self._started.add(nodeid)

    def crash(self, nodeid: str, message: str, outcome: str = "crashed") -> CaseRecord:
        """The process running the case died (``timed-out`` when a timeout's backstop did it)."""
        record = self._record(nodeid, None)
        record.outcome, record.reason = outcome, message
        self._finished.add(nodeid)
        return record

    def add(
        self,
        nodeid: str,
        when: str,
        outcome: str,
        payload: dict[str, Any],
        *,
        xfail_reason: str | None = None,
        skip_reason: str = "",
        duration: float = 0.0,
    ) -> CaseRecord:
        """Record one phase; ``outcome`` is pytest's: passed, failed or skipped."""
        record = self._record(nodeid, payload)
        verdict = payload.get("verdict")
        if verdict is not None:
            record.mismatches = [MismatchRecord(**m) for m in verdict["mismatches"]]
            record.unchecked = [UncheckedRecord(**u) for u in verdict.get("unchecked", [])]
            raised = verdict.get("raised")
            record.raised = None if raised is None else RaisedRecord(**raised)
            record.traceback = verdict.get("traceback", "")
            record.duration = float(verdict["duration"])
        if when == "setup":
            if outcome == "skipped":
                record.outcome, record.reason = "skipped", skip_reason
            elif outcome == "failed":
                record.outcome = "error"
        elif when == "call":
            record.outcome, record.reason = self._call_outcome(
                outcome, payload, xfail_reason, skip_reason
            )
            if verdict is None:
                record.duration = duration
        elif when == "teardown":
            if outcome == "failed" and record.outcome != "failed":
                record.outcome = "error"
            self._finished.add(nodeid)
        return record

    @staticmethod
    def _call_outcome(
        outcome: str, payload: dict[str, Any], xfail_reason: str | None, skip_reason: str
    ) -> tuple[str, str]:
        verdict = payload.get("verdict")
        listed = payload.get("listed")
        if outcome == "skipped":
            if xfail_reason is not None:
                return "xfailed", xfail_reason
            return "skipped", skip_reason
        if outcome == "passed":
            if xfail_reason is not None:  # a non-strict xfail that passed
                return "xpassed", xfail_reason
            if verdict is None or verdict["outcome"] != "passed":
                return "error", "pytest reported a pass the runner did not give"
            return "passed", ""
        if verdict is None:
            return "error", ""
        if verdict["outcome"] in ("error", "timed-out"):
            return str(verdict["outcome"]), str(verdict.get("reason", ""))
        if verdict["outcome"] == "passed" and listed is not None:
            return "xpassed", str(listed)
        return "failed", ""

    def finish(self) -> None:
        """The run is over: a case started but not finished was interrupted."""
        for nodeid in self._started - self._finished:
            record = self._records.get(nodeid)
            if record is not None and record.outcome == "not-run":
                record.outcome = "interrupted"
                record.reason = "the run stopped while this case ran"

    def records(self) -> list[CaseRecord]:
        """Every case seen, in the order of file and line (the same in any run order)."""
        return sorted(self._records.values(), key=lambda r: (r.path, r.line, r.nodeid))


def _from_payload(nodeid: str, payload: dict[str, Any]) -> CaseRecord:
    return CaseRecord(
        id=payload["id"],
        nodeid=nodeid,
        path=payload["path"],
        line=payload["line"],
        topic=payload["topic"],
        kind=payload["kind"],
        description=payload["description"],
        capabilities=list(payload["capabilities"]),
    )


def placeholder(nodeid: str) -> CaseRecord:
    """A record for a case known only by its node id (a controller that never loaded it)."""
    path, _, case_id = nodeid.partition("::")
    parent = path.rsplit("/", 2)
    return CaseRecord(
        id=case_id or path,
        nodeid=nodeid,
        path=path,
        line=0,
        topic=parent[-2] if len(parent) >= 2 else "",
        kind="",
        description="",
        capabilities=[],
    )
