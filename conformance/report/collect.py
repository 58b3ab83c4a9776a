"""Turn the phases of pytest's test reports into one outcome per case.

The plugin hands over plain data only (strings, numbers, the payload dict a
case item attached to its reports), so the same code builds the report in a
serial run and in a pytest-xdist controller that never saw the items.
"""

from __future__ import annotations

import json
from typing import Any

from conformance.compare import Mismatch
from conformance.model import Case
from conformance.report.model import CaseRecord, MismatchRecord
from conformance.runner import Verdict


def case_payload(case: Case, verdict: Verdict | None, listed_reason: str | None) -> dict[str, Any]:
    """What a case item attaches to its reports: JSON data, safe to send between processes.

    The round trip through ``json`` turns the loader's located strings into
    plain ones, which pytest-xdist's wire format insists on.
    """
    payload: dict[str, Any] = {
        "id": case.id,
        "path": case.path,
        "line": case.line,
        "topic": case.topic,
        "kind": case.kind,
        "description": case.description,
        "capabilities": sorted(case.capabilities),
        "listed": listed_reason,
        "verdict": None,
    }
    if verdict is not None:
        payload["verdict"] = {
            "outcome": verdict.outcome.value,
            "reason": verdict.reason,
            "duration": verdict.duration,
            "mismatches": [_mismatch(m) for m in verdict.mismatches],
        }
    plain: dict[str, Any] = json.loads(json.dumps(payload))
    return plain


def _mismatch(mismatch: Mismatch) -> dict[str, Any]:
    return {
        "variable": mismatch.variable,
        "check": mismatch.check,
        "message": mismatch.message,
        "line": mismatch.line,
    }


def skip_text(longrepr: Any) -> str:
    """The reason of a skipped report; its longrepr is (path, line, "Skipped: reason")."""
    if isinstance(longrepr, (tuple, list)) and len(longrepr) == 3:
        text = str(longrepr[2])
        return text.removeprefix("Skipped: ")
    return "" if longrepr is None else str(longrepr)


class OutcomeCollector:
    """Gathers the setup, call and teardown reports of each case into a CaseRecord."""

    def __init__(self) -> None:
        self._records: dict[str, CaseRecord] = {}

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
    ) -> None:
        """Record one phase; ``outcome`` is pytest's: passed, failed or skipped."""
        record = self._records.get(nodeid)
        if record is None:
            record = CaseRecord(
                id=payload["id"],
                nodeid=nodeid,
                path=payload["path"],
                line=payload["line"],
                topic=payload["topic"],
                kind=payload["kind"],
                description=payload["description"],
                capabilities=list(payload["capabilities"]),
            )
            self._records[nodeid] = record
        verdict = payload.get("verdict")
        if verdict is not None:
            record.mismatches = [MismatchRecord(**m) for m in verdict["mismatches"]]
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
        elif when == "teardown" and outcome == "failed" and record.outcome != "failed":
            record.outcome = "error"

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
            return "passed", ""
        if verdict is None:
            return "error", ""
        if verdict["outcome"] == "passed" and listed is not None:
            return "xpassed", str(listed)
        return "failed", ""

    def records(self) -> list[CaseRecord]:
        """Every case seen, in the order of file and line (the same in any run order)."""
        return sorted(self._records.values(), key=lambda r: (r.path, r.line, r.nodeid))
