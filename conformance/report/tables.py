"""The tables both renderers draw, computed once so Markdown and HTML agree."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from conformance.report.model import RunReport
from conformance.report.summary import Tally, by_capability, by_topic, tally


def labels(reports: Sequence[RunReport]) -> list[str]:
    """A column heading per report: backend and version, plus settings where they collide."""
    short = [f"{r.backend} {r.backend_version}" for r in reports]
    if len(set(short)) == len(short):
        return short
    long = [
        f"{s} ({r.device}, {r.dtype}{', strict' if r.strict else ''})"
        for s, r in zip(short, reports, strict=True)
    ]
    if len(set(long)) == len(long):
        return long
    return [f"{text} #{i + 1}" for i, text in enumerate(long)]


@dataclass(frozen=True)
class Matrix:
    """Rows (topics or capabilities) by columns (reports); None where a report has no such row."""

    title: str
    rows: list[str]
    cells: list[list[Tally | None]]


def _matrix(
    title: str, reports: Sequence[RunReport], group: Callable[[RunReport], dict[str, Tally]]
) -> Matrix:
    per_report = [group(report) for report in reports]
    rows = sorted({key for groups in per_report for key in groups})
    cells = [[groups.get(row) for groups in per_report] for row in rows]
    return Matrix(title, rows, cells)


def topic_matrix(reports: Sequence[RunReport]) -> Matrix:
    return _matrix("topic", reports, by_topic)


def capability_matrix(reports: Sequence[RunReport]) -> Matrix:
    return _matrix("capability", reports, by_capability)


def totals(reports: Sequence[RunReport]) -> list[Tally]:
    return [tally(report.cases) for report in reports]


def case_matrix(reports: Sequence[RunReport]) -> list[tuple[str, list[str | None]]]:
    """Node id -> outcome per report, for the cases whose outcomes differ or do not pass."""
    outcomes = [{case.nodeid: case.outcome for case in report.cases} for report in reports]
    nodeids = sorted({nodeid for per in outcomes for nodeid in per})
    rows = []
    for nodeid in nodeids:
        row = [per.get(nodeid) for per in outcomes]
        if any(outcome != "passed" for outcome in row) and len(set(row)) > 1:
            rows.append((nodeid, row))
    return rows
