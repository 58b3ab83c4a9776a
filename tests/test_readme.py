"""The README's sample run is a run of this version: its case counts are the spec's."""

from __future__ import annotations

import re
from pathlib import Path

from conformance.listing import bundled_cases

README = Path(__file__).resolve().parent.parent / "README.md"


def sample_run() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## What a run looks like")
    return text[start : text.index("\n## ", start + 1)]


def test_the_sample_runs_case_counts_are_the_specs() -> None:
    total = len(bundled_cases())
    run = sample_run()
    collected = re.search(r"collected (\d+) items", run)
    summary = re.search(
        r"autograd conformance: (\d+)/(\d+) applicable \([\d.]+%\); (\d+) of (\d+) cases apply", run
    )
    passed = re.search(r"=+ (\d+) passed in [\d.]+s =+", run)
    assert collected and summary and passed, "the README's sample run lost its count lines"
    assert int(collected.group(1)) == total
    assert [int(n) for n in summary.groups()] == [total] * 4
    assert int(passed.group(1)) == total
