"""Render run reports as one self-contained HTML page: inline CSS, no script, no network.

Hand-written rather than templated so the package needs no template engine;
every piece of text from a report goes through ``html.escape``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

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

DIFFER = "Cases whose outcomes differ"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.bar { display: inline-block; width: 8em; height: 0.8em; background: #f2d0d0; margin-left: 0.5em; }
.bar span { display: block; height: 100%; background: #3a8f3a; }
.passed, .xpassed { color: #2a7a2a; } .failed, .error { color: #b00020; }
.xfailed { color: #a06000; } .skipped { color: #777; }
code { background: #f6f6f6; padding: 0 0.2em; }
li { margin: 0.3em 0; }
"""


def _cell(value: Tally | None) -> str:
    if value is None:
        return '<td class="absent">-</td>'
    if not value.applicable:
        return f'<td data-skipped="{value.skipped}">n/a ({value.skipped} skipped)</td>'
    percent = value.percent or 0.0
    return (
        f'<td data-conforming="{value.conforming}" data-applicable="{value.applicable}"'
        f' data-total="{value.total}" data-percent="{percent:.1f}">'
        f"{value.conforming}/{value.applicable} ({format_percent(value.percent)})"
        f'<span class="bar"><span style="width: {percent:.1f}%"></span></span>'
        f"<small>{value.applicable} of {value.total} apply</small></td>"
    )


def _head(cells: Sequence[str]) -> str:
    return "<tr>" + "".join(f"<th>{escape(c)}</th>" for c in cells) + "</tr>"


def _matrix(table_id: str, matrix: Matrix, heads: list[str]) -> str:
    rows = [_head([matrix.title, *heads])]
    for name, values in zip(matrix.rows, matrix.cells, strict=True):
        rows.append(
            f'<tr><th scope="row">{escape(name)}</th>' + "".join(_cell(v) for v in values) + "</tr>"
        )
    return f'<table id="{table_id}">' + "\n".join(rows) + "</table>"


def _settings(reports: Sequence[RunReport], heads: list[str]) -> str:
    columns = ["backend", "adapter", "device", "dtype", "strict", "conventions", "spec"]
    rows = [_head([*columns, "conformance"])]
    for head, report, total in zip(heads, reports, totals(reports), strict=True):
        texts = [
            report.backend_spec,
            report.device,
            report.dtype,
            "on" if report.strict else "off",
            conventions_text(report),
            report.spec_version,
        ]
        rows.append(
            f'<tr><th scope="row">{escape(head)}</th>'
            + "".join(f"<td>{escape(t)}</td>" for t in texts)
            + _cell(total)
            + "</tr>"
        )
    return '<table id="summary">' + "\n".join(rows) + "</table>"


def _divergences(reports: Sequence[RunReport], heads: list[str]) -> str:
    parts = ['<section id="divergences"><h2>Divergences</h2>']
    for head, report in zip(heads, reports, strict=True):
        parts.append(f'<section class="backend" data-backend="{escape(head)}">')
        if len(reports) > 1:
            parts.append(f"<h3>{escape(head)}</h3>")
        cases = divergences(report)
        if not cases:
            parts.append("<p>None.</p>")
        parts.append("<ul>")
        for case in cases:
            items = [f"<li>rule: {escape(case.description)}</li>"]
            if case.reason:
                items.append(f"<li>listed: {escape(case.reason)}</li>")
            for m in case.mismatches:
                where = f" (<code>{escape(case.path)}:{m.line}</code>)" if m.line else ""
                items.append(f"<li>{escape(m.variable)}: {escape(m.message)}{where}</li>")
            items.append(f"<li>reproduce: <code>{escape(reproduction(report, case))}</code></li>")
            parts.append(
                f'<li class="case" data-nodeid="{escape(case.nodeid)}">'
                f'<strong>{escape(case.nodeid)}</strong> <span class="{escape(case.outcome)}">'
                f"{escape(case.outcome)}</span> at <code>{escape(case.path)}:{case.line}</code>"
                f"<ul>{''.join(items)}</ul></li>"
            )
        parts.append("</ul></section>")
    parts.append("</section>")
    return "\n".join(parts)


def _case_matrix(reports: Sequence[RunReport], heads: list[str]) -> str:
    rows = case_matrix(reports)
    if not rows:
        return f"<h2>{DIFFER}</h2><p>Every case has the same outcome on every backend.</p>"
    lines = [_head(["case", *heads])]
    for nodeid, outcomes in rows:
        cells = "".join(
            f'<td class="{escape(o or "absent")}">{escape(o or "-")}</td>' for o in outcomes
        )
        lines.append(f'<tr><th scope="row">{escape(nodeid)}</th>{cells}</tr>')
    return f'<h2>{DIFFER}</h2><table id="by-case">' + "\n".join(lines) + "</table>"


def render_html(reports: Sequence[RunReport]) -> str:
    heads = labels(reports)
    body = [
        "<h1>Autograd conformance</h1>",
        _settings(reports, heads),
        "<p>Conformance: cases passed over cases that apply (skipped cases do not count).</p>",
        "<h2>By topic</h2>",
        _matrix("by-topic", topic_matrix(reports), heads),
        "<h2>By capability</h2>",
        _matrix("by-capability", capability_matrix(reports), heads),
    ]
    if len(reports) > 1:
        body.append(_case_matrix(reports, heads))
    body.append(_divergences(reports, heads))
    errors = [(h, e) for h, r in zip(heads, reports, strict=True) for e in r.file_errors]
    if errors:
        body.append('<h2>Case files that did not load</h2><ul id="file-errors">')
        body.extend(f"<li>{escape(h)}: <code>{escape(e)}</code></li>" for h, e in errors)
        body.append("</ul>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Autograd conformance</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )
