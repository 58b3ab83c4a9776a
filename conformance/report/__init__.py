"""Run reports: the JSON a run writes (``--autograd-report``) and the ``report`` sub-command.

``python -m conformance report A.json [B.json ...]`` reads one report or
several and writes a Markdown summary and a self-contained HTML page; with
several reports, each table has one column per backend.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.report.html import render_html
from conformance.report.markdown import render_markdown
from conformance.report.model import (
    REPORT_FORMAT,
    CaseRecord,
    MismatchRecord,
    ReportError,
    RunReport,
    load_report,
    report_schema,
    validate_report,
)
from conformance.report.summary import summary_line

__all__ = [
    "REPORT_FORMAT",
    "CaseRecord",
    "MismatchRecord",
    "ReportError",
    "RunReport",
    "add_arguments",
    "load_report",
    "render_html",
    "render_markdown",
    "report_schema",
    "run",
    "summary_line",
    "validate_report",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reports", nargs="+", type=Path, metavar="REPORT.json")
    parser.add_argument(
        "--markdown",
        type=Path,
        default=Path("conformance-report.md"),
        metavar="PATH",
        help="where to write the Markdown summary (default: %(default)s; '-' for stdout)",
    )
    parser.add_argument(
        "--html",
        type=Path,
        default=Path("conformance-report.html"),
        metavar="PATH",
        help="where to write the HTML page (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        reports = [load_report(path) for path in args.reports]
    except ReportError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    markdown = render_markdown(reports)
    to_stdout = str(args.markdown) == "-"
    # With the Markdown on stdout, everything else goes to stderr so it can be piped.
    notes = sys.stderr if to_stdout else sys.stdout
    if to_stdout:
        sys.stdout.write(markdown)
    else:
        args.markdown.write_text(markdown, encoding="utf-8")
        print(f"wrote {args.markdown}", file=notes)
    args.html.write_text(render_html(reports), encoding="utf-8")
    print(f"wrote {args.html}", file=notes)
    for report in reports:
        print(summary_line(report), file=notes)
    return 0
