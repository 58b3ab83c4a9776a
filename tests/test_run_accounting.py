"""A case counts only when it finished: crashes, hangs, interrupts and empty runs.

Each run is a real pytest process (``runpytest_subprocess``): these are the
runs that kill, hang or interrupt the process that runs them. The cases are
three, and only the middle one calls ``exp``, which is where each adapter of
tests/sample_adapters/faulty_backends.py has its fault.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.report.journal import journal_path, read_journal

pytest.importorskip("torch")

ADAPTERS = Path(__file__).resolve().parent / "sample_adapters"

CASES = """\
schema_version: "1.0"
cases:
  - id: a-square
    description: The derivative of x squared is two x.
    kind: math
    inputs:
      x: {value: 3.0, requires_grad: true}
    steps: |
      g = grad(x * x, x)[0]
    expect:
      g: {value: 6.0}
  - id: b-exp
    description: exp is its own derivative.
    kind: math
    inputs:
      x: {value: 0.0, requires_grad: true}
    steps: |
      g = grad(exp(x), x)[0]
    expect:
      g: {value: 1.0}
  - id: c-freed
    description: A second backward through a freed graph raises.
    kind: semantics
    inputs:
      x: {value: 2.0, requires_grad: true}
    steps: |
      y = x * x
      y.backward()
      y.backward()
    raises: {line: 3, misuse: freed-graph, type: RuntimeError}
    expect:
      x: {value: 2.0}
"""

A, B, C = (f"acct/accounting.yaml::{name}" for name in ("a-square", "b-exp", "c-freed"))


@pytest.fixture
def folder(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    (pytester.path / "acct").mkdir()
    (pytester.path / "acct" / "accounting.yaml").write_text(CASES, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(ADAPTERS))
    return pytester.path


def run(pytester: pytest.Pytester, backend: str, *extra: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        f"--autograd-backend=faulty_backends:{backend}",
        "--autograd-cases=acct",
        "-k",
        "accounting.yaml",
        "-p",
        "no:cacheprovider",
        "--autograd-report=report.json",
        *extra,
    )


def outcomes(folder: Path) -> dict[str, str]:
    data: dict[str, Any] = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    return {case["nodeid"]: case["outcome"] for case in data["cases"]}


def test_a_worker_killed_mid_case_leaves_that_case_crashed(
    pytester: pytest.Pytester, folder: Path
) -> None:
    pytest.importorskip("xdist")
    result = run(pytester, "KillsInExp", "-n", "2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert outcomes(folder) == {A: "passed", B: "crashed", C: "passed"}
    result.stdout.fnmatch_lines(["autograd conformance: 2/3 applicable (66.7%);*(1 crashed)"])
    assert "3/3 applicable" not in result.stdout.str()


def test_a_case_past_the_timeout_fails_alone_and_the_report_is_complete(
    pytester: pytest.Pytester, folder: Path
) -> None:
    result = run(pytester, "HangsInExp", "--autograd-timeout=1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert outcomes(folder) == {A: "passed", B: "timed-out", C: "passed"}
    result.stdout.fnmatch_lines(["*timeout 1 s per case*", "*b-exp*timed out*"])
    assert not journal_path(folder / "report.json").exists()  # replaced by the report


def test_a_hang_no_signal_reaches_is_ended_by_the_backstop_and_the_run_goes_on(
    pytester: pytest.Pytester, folder: Path
) -> None:
    pytest.importorskip("xdist")
    result = run(pytester, "HangsDeafInExp", "--autograd-timeout=1", "-n", "2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert outcomes(folder) == {A: "passed", B: "timed-out", C: "passed"}
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    (hung,) = [case for case in report["cases"] if case["nodeid"] == B]
    assert "Timeout" in hung["reason"] and "_sleep_deaf" in hung["reason"]  # the traceback


def test_a_killed_serial_run_leaves_every_finished_case_on_disk(
    pytester: pytest.Pytester, folder: Path
) -> None:
    result = run(pytester, "HangsDeafInExp", "--autograd-timeout=1")
    # faulthandler ended the process (exit status 1) before any summary or report
    assert result.ret == 1
    assert "autograd conformance" not in result.stdout.str()
    assert not (folder / "report.json").exists()
    partial = read_journal(journal_path(folder / "report.json"))
    by_id = {case.nodeid: case for case in partial.cases}
    assert by_id[A].outcome == "passed"
    assert by_id[B].outcome == "timed-out"
    assert C not in by_id  # never started: absent, not passed
    assert partial.backend == "hangs-deaf-in-exp"


def test_an_interrupt_records_the_running_case_and_those_not_run(
    pytester: pytest.Pytester, folder: Path
) -> None:
    result = run(pytester, "InterruptedInExp")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert outcomes(folder) == {A: "passed", B: "interrupted", C: "not-run"}
    result.stdout.fnmatch_lines(["*1/1 applicable (100.0%); 1 of 3 cases apply*interrupted*"])


def test_a_run_where_no_case_applies_fails(pytester: pytest.Pytester, folder: Path) -> None:
    result = run(pytester, "AskedNothing")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*no case applies to asked-nothing: nothing was checked*"])
    assert set(outcomes(folder).values()) == {"skipped"}


def test_a_version_that_raises_is_reported_and_the_run_completes(
    pytester: pytest.Pytester, folder: Path
) -> None:
    result = run(pytester, "VersionRaises")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*unknown (the adapter's version raised RuntimeError*"])
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert "no version file" in data["backend_version"]
    assert len(data["cases"]) == 3


def test_the_verbose_line_and_the_report_name_what_answered_an_expected_error(
    pytester: pytest.Pytester, folder: Path
) -> None:
    result = pytester.runpytest_subprocess(
        "--autograd-backend=torch",
        "--autograd-cases=acct",
        "-k",
        "accounting.yaml",
        "-p",
        "no:cacheprovider",
        "--autograd-report=report.json",
        "-v",
    )
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*c-freed PASSED (freed-graph: RuntimeError)*"])
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    (freed,) = [case for case in data["cases"] if case["nodeid"] == C]
    assert freed["raised"]["type"] == "RuntimeError"
    assert freed["raised"]["misuse"] == "freed-graph"
    assert "second time" in freed["raised"]["message"]
