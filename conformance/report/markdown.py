"""Render run reports as Markdown: one column per report, bars in text."""

from __future__ import annotations

import re
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
    return f"{figure} `{bar(value.percent)}` {value.applicable} of {value.total} apply"


# A "<" that could open raw HTML in Markdown (a tag, a comment, an autolink);
# "<2>" cannot, and stays as written.
_HTML_START = re.compile(r"<(?=[A-Za-z/!?])")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _text(text: str) -> str:
    """Text from a report (ids, messages, names) as Markdown shows it, never as markup.

    A report may come from anyone; its strings must not put HTML into a page
    rendered from this Markdown, nor end the list item they stand in.
    """
    return _HTML_START.sub("&lt;", _LINE_BREAK.sub(" ", text))


def _code(text: str) -> str:
    """``text`` as a code span, whatever backticks it holds (a longer fence encloses them)."""
    text = _LINE_BREAK.sub(" ", text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _escape(text: str) -> str:
    return _text(text).replace("|", "\\|")


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
            lines += [f"### {_text(head)}", ""]
        if not cases:
            lines += ["None.", ""]
            continue
        for case in cases:
            at = _code(f"{case.path}:{case.line}")
            lines.append(f"- **{_text(case.nodeid)}** ({_text(case.outcome)}) at {at}")
            lines.append(f"  - rule: {_text(case.description)}")
            if case.reason:
                lines.append(f"  - listed: {_text(case.reason)}")
            for m in case.mismatches:
                where = f" ({_code(f'{case.path}:{m.line}')})" if m.line else ""
                lines.append(f"  - {_text(m.variable)}: {_text(m.message)}{where}")
            lines.append(f"  - reproduce: {_code(reproduction(report, case))}")
        lines.append("")
    errors = [(head, e) for head, r in zip(heads, reports, strict=True) for e in r.file_errors]
    if errors:
        lines += ["## Case files that did not load", ""]
        lines += [f"- {_text(head)}: {_text(error)}" for head, error in errors]
        lines.append("")
    return "\n".join(lines)
