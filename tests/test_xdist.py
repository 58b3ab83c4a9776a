"""A parallel run (pytest-xdist) gives the same outcomes and the same report as a serial one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sample_adapters.spec_files import ADAPTERS, spec_args, write_sample

pytest.importorskip("xdist")


def comparable(data: dict[str, Any]) -> dict[str, Any]:
    """The report without durations, the one thing two runs never share."""
    for case in data["cases"]:
        case["duration"] = 0.0
    return data


def test_parallel_and_serial_runs_agree_case_by_case(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_sample(pytester)
    monkeypatch.setenv("PYTHONPATH", str(ADAPTERS))
    # Outcomes of every sort: failed (product-rule), xpassed (sum-rule, listed but
    # passing), passed (backward-fills-grad), plus the bundled spec, which runs too.
    pytester.path.joinpath("xfails.yaml").write_text(
        "listed: [sum-rule]\nstale: [no-such-case]\n", encoding="utf-8"
    )
    common = [
        arg
        for arg in spec_args("WrongMulBackend", "--autograd-xfails=xfails.yaml")
        if arg not in ("-k", "harness-sample.yaml")
    ]
    serial = pytester.runpytest_subprocess(*common, "--autograd-report=serial.json")
    parallel = pytester.runpytest_subprocess(*common, "--autograd-report=parallel.json", "-n", "2")
    assert serial.ret == parallel.ret == pytest.ExitCode.TESTS_FAILED
    assert "gw1" in parallel.stdout.str()  # it did run on two workers
    one = comparable(json.loads((pytester.path / "serial.json").read_text(encoding="utf-8")))
    two = comparable(json.loads((pytester.path / "parallel.json").read_text(encoding="utf-8")))
    outcomes = {case["nodeid"]: case["outcome"] for case in one["cases"]}
    assert len(outcomes) > 3
    assert {"failed", "xpassed", "passed"} <= set(outcomes.values())
    assert one == two

    def summary(result: pytest.RunResult) -> str:
        return next(line for line in result.outlines if line.startswith("autograd conformance:"))

    assert summary(serial) == summary(parallel)
    stale = "*xfails.yaml:2: 'no-such-case' (stale) matches no case*"
    serial.stdout.fnmatch_lines([stale])
    parallel.stdout.fnmatch_lines([stale])
