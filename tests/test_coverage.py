"""`coverage`: the generated tables, the hand-written parts kept, and the staleness check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.coverage import END, START, render, splice
from conformance.model import CaseFile

LoadCases = Callable[..., CaseFile]

CASES = """\
schema_version: "1.0"
topic: calculus
cases:
  - id: cube
    description: The first and second derivatives of x cubed are 3x^2 and 6x.
    kind: math
    inputs:
      x: {value: 2.0, requires_grad: true}
    steps: |
      g = grad(x ** 3, x, create_graph=True)[0]
      h = grad(g, x)[0]
    expect:
      h: {value: 12.0}
  - id: accumulate
    description: backward accumulates the gradient of the sine into x.grad.
    kind: semantics
    inputs:
      x: {value: 0.0, requires_grad: true}
    steps: |
      y = sin(x) + exp(x)
      y.backward()
    expect:
      x: {grad: 2.0}
"""


def _row(text: str, first_cell: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {first_cell} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_tables_count_kinds_capabilities_and_orders(load_cases: LoadCases) -> None:
    text = render(list(load_cases(CASES).cases))
    # kinds: math, convention, semantics, torch-detail, total
    assert _row(text, "calculus") == ["calculus", "1", ".", "1", ".", "2"]
    section = text.split("### Capabilities")[1]
    header = _row(section, "topic")
    needs = dict(zip(header, _row(section, "calculus"), strict=True))
    assert needs["higher-order"] == "1"
    assert needs["backward"] == "1"
    assert needs["hooks"] == "."
    # pow is evaluated and differentiated once and twice; sin only once; cat never
    assert _row(text, "`pow`") == ["`pow`", "1", "1", "1", "."]
    assert _row(text, "`sin`") == ["`sin`", "1", "1", ".", "."]
    assert _row(text, "`cat`") == ["`cat`", ".", ".", ".", "."]
    assert _row(text, "`grad`") == ["`grad`", "1"]


def test_splice_keeps_the_hand_written_parts() -> None:
    document = (
        f"# Coverage\n\nWritten by hand.\n\n{START}\nold table\n{END}\n\n## Not covered\nhooks\n"
    )
    result = splice(document, "new table\n")
    assert "old table" not in result
    assert result.startswith("# Coverage\n\nWritten by hand.\n\n")
    assert f"{START}\nnew table\n{END}\n\n## Not covered\nhooks\n" in result


def test_splice_adds_markers_where_missing() -> None:
    assert splice("", "table\n") == f"# Coverage of the spec\n\n{START}\ntable\n{END}\n"
    assert splice("# Mine\n", "table\n") == f"# Mine\n\n{START}\ntable\n{END}\n"


def test_check_fails_when_stale_and_passes_once_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = tmp_path / "cases" / "calculus"
    cases.mkdir(parents=True)
    (cases / "cube.yaml").write_text(CASES, encoding="utf-8")
    output = tmp_path / "coverage.md"
    output.write_text(f"# Coverage\n\n{START}\n{END}\n\nHand-written.\n", encoding="utf-8")
    arguments = [str(tmp_path / "cases"), "--output", str(output)]
    assert main(["coverage", "--check", *arguments]) == 1
    assert "is stale" in capsys.readouterr().err
    assert main(["coverage", *arguments]) == 0
    assert output.read_text(encoding="utf-8").endswith(f"{END}\n\nHand-written.\n")
    assert main(["coverage", "--check", *arguments]) == 0
    (cases / "cube.yaml").write_text(CASES.replace("kind: semantics", "kind: math"), "utf-8")
    assert main(["coverage", "--check", *arguments]) == 1


def test_the_committed_report_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage", "--check"]) == 0, capsys.readouterr().err
