"""The JSON run report, its schema, the closing summary line, and the ``report`` sub-command."""

from __future__ import annotations

import json
import shlex
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sample_adapters.spec_files import BACKWARD, FILE, PRODUCT, SUM, spec_args, write_sample

from conformance.cli import main
from conformance.report import RunReport, render_html, render_markdown, report_schema
from conformance.report.model import CaseRecord, MismatchRecord, ReportError, validate_report

SUMMARY = (
    "autograd conformance: 2/3 applicable (66.7%); 3 of 3 cases apply (100.0%) on wrongmul 9.9"
)


@pytest.fixture
def sample(pytester: pytest.Pytester) -> pytest.Pytester:
    write_sample(pytester)
    return pytester


def run_report(sample: pytest.Pytester, backend: str, name: str, *extra: str) -> dict[str, Any]:
    sample.runpytest(*spec_args(backend, f"--autograd-report={name}", *extra))
    data: dict[str, Any] = json.loads((sample.path / name).read_text(encoding="utf-8"))
    return data


def test_the_report_follows_its_schema_and_says_what_ran(sample: pytest.Pytester) -> None:
    sample.path.joinpath("xfails.yaml").write_text("mul adds: [sum-rule]\n", encoding="utf-8")
    data = run_report(
        sample,
        "WrongMulBackend",
        "out/run.json",
        "--autograd-xfails=xfails.yaml",
        "--autograd-dtype=float64",
        "--autograd-portable",
    )
    jsonschema.validate(data, report_schema())
    assert {k: data[k] for k in ("backend", "backend_version", "device", "dtype", "strict")} == {
        "backend": "wrongmul",
        "backend_version": "9.9",
        "device": "cpu",
        "dtype": "float64",
        "strict": False,
    }
    # The sample adapter inherits torch's declared conventions; the report records them.
    from conformance.adapters.torch_backend import TorchBackend

    assert data["conventions"] == dict(TorchBackend.conventions)
    assert data["spec_version"] == "1.0"
    cases = {case["nodeid"]: case for case in data["cases"]}
    assert list(cases) == [PRODUCT, SUM, BACKWARD]  # file order, whatever the run order
    product, total, backward = cases[PRODUCT], cases[SUM], cases[BACKWARD]
    assert (product["outcome"], product["topic"], product["kind"], product["line"]) == (
        "failed",
        "sample",
        "math",
        3,
    )
    # z = 3 + 4 on this backend; the expectation of z is on line 13, of g on line 14.
    assert [(m["variable"], m["check"], m["line"]) for m in product["mismatches"]] == [
        ("z", "value", 13),
        ("g", "value", 14),
    ]
    assert "expected 12, got 7" in product["mismatches"][0]["message"]
    assert (total["outcome"], total["reason"]) == ("xpassed", "mul adds")
    assert backward["outcome"] == "passed"
    assert backward["capabilities"] == ["backward"]  # reading .grad does not gate it
    assert all(case["duration"] >= 0 for case in data["cases"])


def test_skipped_cases_carry_their_reason(sample: pytest.Pytester) -> None:
    data = run_report(sample, "NeverAskBackend", "run.json")
    backward = next(case for case in data["cases"] if case["nodeid"] == BACKWARD)
    assert backward["outcome"] == "skipped"
    assert backward["reason"] == "backend 'neverask' lacks capability backward"


def test_the_run_ends_with_a_summary_line(sample: pytest.Pytester) -> None:
    result = sample.runpytest(*spec_args("WrongMulBackend"))
    # product-rule diverges, the other two pass: 2 of 3.
    result.stdout.fnmatch_lines([SUMMARY])


def test_a_known_failure_still_counts_against_conformance(sample: pytest.Pytester) -> None:
    sample.path.joinpath("xfails.yaml").write_text("mul adds: [product-rule]\n", encoding="utf-8")
    result = sample.runpytest(*spec_args("WrongMulBackend", "--autograd-xfails=xfails.yaml"))
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([SUMMARY])


def test_the_schema_rejects_a_malformed_report() -> None:
    report = sample_report()
    data = report.to_json()
    data["cases"][0]["outcome"] = "kind of passed"
    with pytest.raises(ReportError, match="cases/0/outcome"):
        validate_report(data)
    assert RunReport.from_json(report.to_json()) == report


# The report sub-command ---------------------------------------------------------------------


def sample_report(backend: str = "mine", outcomes: tuple[str, ...] = ("passed",)) -> RunReport:
    cases = [
        CaseRecord(
            id=f"case-{i}",
            nodeid=f"cases/t/f.yaml::case-{i}",
            path="cases/t/f.yaml",
            line=3 + 10 * i,
            topic="t",
            kind="math",
            description="x <b>bold</b> & y",
            capabilities=["backward"] if i % 2 else [],
            outcome=outcome,
            mismatches=[MismatchRecord("g", "value", "expected 1, got <2>", 9)]
            if outcome == "failed"
            else [],
        )
        for i, outcome in enumerate(outcomes)
    ]
    return RunReport(
        backend=backend,
        backend_spec=f"pkg.{backend}:Backend",
        backend_version="1.2",
        device="cpu",
        dtype="float32",
        strict=False,
        spec_version="1.0",
        tool_version="0.1.0",
        capabilities=["backward"],
        cases=cases,
    )


class Page(HTMLParser):
    """Collects table cells (with their data- attributes) by table id, and all text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, dict[str, str | None]]]]] = {}
        self.table: str | None = None
        self.cell: dict[str, str | None] | None = None
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if tag == "table":
            self.table = found.get("id") or ""
            self.tables[self.table] = []
        elif tag == "tr" and self.table is not None:
            self.tables[self.table].append([])
        elif tag in ("td", "th") and self.table is not None:
            self.cell = found
            self.tables[self.table][-1].append(("", found))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.table = None
        elif tag in ("td", "th"):
            self.cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.cell is not None and self.table is not None:
            text, attrs = self.tables[self.table][-1][-1]
            self.tables[self.table][-1][-1] = (text + data, attrs)


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    return parser


def test_html_has_matrices_with_numbers_per_backend() -> None:
    ours = sample_report("mine", ("passed", "failed", "passed", "xfailed", "skipped"))
    ref = sample_report("ref", ("passed", "passed", "passed", "passed", "passed"))
    page = parse(render_html([ours, ref]))
    assert "script" not in page.tags and "link" not in page.tags  # nothing to fetch
    head, *rows = page.tables["by-topic"]
    assert [text for text, _ in head] == ["topic", "mine 1.2", "ref 1.2"]
    (row,) = rows
    # mine: passed 2 of the 4 that apply (skipped does not count) = 50%; ref: 5 of 5.
    assert row[0][0] == "t"
    assert (row[1][1]["data-conforming"], row[1][1]["data-applicable"]) == ("2", "4")
    assert row[1][1]["data-percent"] == "50.0"
    assert row[2][1]["data-percent"] == "100.0"
    capabilities = {r[0][0]: r[1][1] for r in page.tables["by-capability"][1:]}
    # odd-numbered cases need backward: case-1 failed, case-3 xfailed -> 0 of 2.
    assert capabilities["backward"]["data-percent"] == "0.0"
    # even ones need nothing: case-0 passed, case-2 passed, case-4 skipped -> 2 of 2.
    assert capabilities["(none)"]["data-percent"] == "100.0"
    differing = {r[0][0]: [c[0] for c in r[1:]] for r in page.tables["by-case"][1:]}
    assert differing == {
        "cases/t/f.yaml::case-1": ["failed", "passed"],
        "cases/t/f.yaml::case-3": ["xfailed", "passed"],
        "cases/t/f.yaml::case-4": ["skipped", "passed"],
    }
    text = "".join(page.text)
    assert "x <b>bold</b> & y" in text  # shown as text, not markup
    assert "expected 1, got <2> (cases/t/f.yaml:9)" in text
    command = "python -m pytest --autograd-backend=pkg.mine:Backend --autograd-portable"
    command += " -k 'f.yaml and case-1 and topic_t'"
    assert command in text


def test_markdown_lists_figures_and_divergences() -> None:
    report = sample_report("mine", ("passed", "failed", "passed"))
    text = render_markdown([report])
    assert "| t | 2/3 (66.7%) `███████░░░` 3 of 3 apply |" in text
    assert "- **cases/t/f.yaml::case-1** (failed) at `cases/t/f.yaml:13`" in text
    assert "  - g: expected 1, got <2> (`cases/t/f.yaml:9`)" in text
    assert "case-0**" not in text  # passing cases are no divergence


def test_the_report_command_writes_both_pages_from_real_runs(
    sample: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    run_report(sample, "torch", "torch.json")
    run_report(sample, "WrongMulBackend", "wrongmul.json")
    md, page = sample.path / "out.md", sample.path / "out.html"
    args = ["report", "torch.json", "wrongmul.json", "--markdown", str(md), "--html", str(page)]
    assert main([str(sample.path / a) if a.endswith(".json") else a for a in args]) == 0
    assert (
        "autograd conformance: 2/3 applicable (66.7%); 3 of 3 cases apply (100.0%) on wrongmul 9.9"
        in capsys.readouterr().out
    )
    parsed = parse(page.read_text(encoding="utf-8"))
    head, row = parsed.tables["by-topic"]
    assert [text for text, _ in head][1:] == [
        f"torch {head[1][0].split(' ', 1)[1]}",
        "wrongmul 9.9",
    ]
    assert [cell[1].get("data-percent") for cell in row[1:]] == ["100.0", "66.7"]
    markdown = md.read_text(encoding="utf-8")
    assert f"**{PRODUCT}** (failed) at `{FILE}:3`" in markdown
    # The reproduction command given for the divergence runs exactly that case again.
    command = next(line for line in markdown.splitlines() if "reproduce:" in line)
    argv = shlex.split(command.split("`")[1])
    assert argv[:3] == ["python", "-m", "pytest"]
    result = sample.runpytest(*argv[3:], "-p", "no:cacheprovider")
    assert result.parseoutcomes().get("failed") == 1
    result.stdout.fnmatch_lines([f"FAILED {PRODUCT}*"])


def test_the_report_command_refuses_a_file_off_the_schema(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"backend": "x"}), encoding="utf-8")
    assert main(["report", str(bad), "--html", str(tmp_path / "x.html")]) == 2
    assert not (tmp_path / "x.html").exists()


def test_markdown_on_stdout_is_the_markdown_alone(
    sample: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    run_report(sample, "torch", "torch.json")
    capsys.readouterr()  # the run's own output
    page = sample.path / "page.html"
    assert (
        main(["report", str(sample.path / "torch.json"), "--markdown", "-", "--html", str(page)])
        == 0
    )
    captured = capsys.readouterr()
    assert captured.out.startswith("# Autograd conformance")
    assert "wrote" not in captured.out and "autograd conformance:" not in captured.out
    assert f"wrote {page}" in captured.err
