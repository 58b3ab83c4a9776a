"""Render run reports as Markdown: one column per report, bars in text."""

from __future__ import annotations

from collections.abc import Sequence

from conformance.report.model import RunReport
from conformance.report.summary import (
    Tally,
    conventions_text,
    divergences,
    format_percent,
    reproduction,
)
from conformance.report.tables import (
    Matrix,
    capability_matrix,
    case_matrix,
    labels,
    topic_matrix,
    totals,
)

BAR_WIDTH = 10
DEFINITION = "Conformance: cases passed over cases that apply (skipped cases do not count)."


def bar(percent: float | None) -> str:
    if percent is None:
        return ""
    filled = round(percent / 100 * BAR_WIDTH)
    return "█" * filled + "░" * (BAR_WIDTH - filled)


def cell(value: Tally | None) -> str:
    if value is None:
        return "-"
    if not value.applicable:
        return f"n/a ({value.skipped} skipped)"
    figure = f"{value.conforming}/{value.applicable} ({format_percent(value.percent)})"
    return f"{figure} `{bar(value.percent)}`"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(_escape(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines.extend("| " + " | ".join(_escape(c) for c in row) + " |" for row in rows)
    return lines


def _matrix(matrix: Matrix, heads: list[str]) -> list[str]:
    pairs = zip(matrix.rows, matrix.cells, strict=True)
    rows = [[name, *(cell(v) for v in values)] for name, values in pairs]
    return _table([matrix.title, *heads], rows)


def render_markdown(reports: Sequence[RunReport]) -> str:
    heads = labels(reports)
    lines = ["# Autograd conformance", ""]
    settings = [
        [
            head,
            r.backend_spec,
            r.device,
            r.dtype,
            "on" if r.strict else "off",
            conventions_text(r),
            r.spec_version,
            cell(total),
        ]
        for head, r, total in zip(heads, reports, totals(reports), strict=True)
    ]
    lines += _table(
        ["backend", "adapter", "device", "dtype", "strict", "conventions", "spec", "conformance"],
        settings,
    )
    lines += ["", DEFINITION, ""]
    lines += ["## By topic", "", *_matrix(topic_matrix(reports), heads), ""]
    lines += ["## By capability", "", *_matrix(capability_matrix(reports), heads), ""]
    if len(reports) > 1:
        rows = case_matrix(reports)
        lines += ["## Cases whose outcomes differ", ""]
        if rows:
            lines += _table(["case", *heads], [[n, *(o or "-" for o in row)] for n, row in rows])
        else:
            lines.append("Every case has the same outcome on every backend.")
        lines.append("")
    lines += ["## Divergences", ""]
    for head, report in zip(heads, reports, strict=True):
        cases = divergences(report)
        if len(reports) > 1:
            lines += [f"### {head}", ""]
        if not cases:
            lines += ["None.", ""]
            continue
        for case in cases:
            lines.append(f"- **{case.nodeid}** ({case.outcome}) at `{case.path}:{case.line}`")
            lines.append(f"  - rule: {case.description}")
            if case.reason:
                lines.append(f"  - listed: {case.reason}")
            for m in case.mismatches:
                where = f" (`{case.path}:{m.line}`)" if m.line else ""
                lines.append(f"  - {m.variable}: {m.message}{where}")
            lines.append(f"  - reproduce: `{reproduction(report, case)}`")
        lines.append("")
    errors = [(head, e) for head, r in zip(heads, reports, strict=True) for e in r.file_errors]
    if errors:
        lines += ["## Case files that did not load", ""]
        lines += [f"- {head}: {error}" for head, error in errors]
        lines.append("")
    return "\n".join(lines)
