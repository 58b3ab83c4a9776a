"""Capability claims, both ways, and the run settings that depend on them (dtype, device).

An adapter that declares it lacks a capability is never asked for it: the
cases needing it are skipped. Run anyway, it must answer NotSupportedError
(``check_claims``). An adapter that declares a capability runs its cases.
"""

from __future__ import annotations

import json

import pytest
from sample_adapters.sample_backends import (
    BrokenClaimBackend,
    HonestBackend,
    NeverAskBackend,
    WrongMulBackend,
)
from sample_adapters.spec_files import BACKWARD, PRODUCT, SAMPLE_CASES, SUM, spec_args, write_sample

from conformance.listing import check_claims
from conformance.model import Case


@pytest.fixture
def sample(pytester: pytest.Pytester) -> pytest.Pytester:
    write_sample(pytester)
    return pytester


@pytest.fixture
def sample_cases(load_cases: object) -> list[Case]:
    assert callable(load_cases)
    return list(load_cases(SAMPLE_CASES).cases)


def outcomes(sample: pytest.Pytester, backend: str, *extra: str) -> dict[str, str]:
    sample.runpytest(*spec_args(backend, "--autograd-report=run.json", *extra))
    data = json.loads((sample.path / "run.json").read_text(encoding="utf-8"))
    return {case["nodeid"]: case["outcome"] for case in data["cases"]}


def test_a_backend_is_never_asked_for_what_it_declares_missing(sample: pytest.Pytester) -> None:
    # NeverAskBackend.backward raises AssertionError: a call would fail the case.
    assert outcomes(sample, "NeverAskBackend") == {
        PRODUCT: "passed",
        SUM: "passed",
        BACKWARD: "skipped",
    }


def test_a_backend_that_declares_a_capability_runs_its_cases(sample: pytest.Pytester) -> None:
    assert outcomes(sample, "WrongMulBackend")[BACKWARD] == "passed"


def test_an_honest_claim_passes_the_check(sample_cases: list[Case]) -> None:
    assert check_claims(HonestBackend(), sample_cases) == []


def test_a_claim_hiding_a_broken_method_is_caught(sample_cases: list[Case]) -> None:
    (problem,) = check_claims(BrokenClaimBackend(), sample_cases)
    assert problem.startswith(
        "brokenclaim declares it lacks 'backward', but cases.yaml:27 (backward-fills-grad)"
    )
    assert "instead of raising NotSupportedError" in problem
    assert "RuntimeError: backward is half-written" in problem


def test_the_check_skips_capabilities_no_case_needs_alone(sample_cases: list[Case]) -> None:
    # NeverAskBackend lacks only backward, and its backward fails: caught like the one above.
    assert len(check_claims(NeverAskBackend(), sample_cases)) == 1
    # A full backend lacks nothing, so there is nothing to check.
    assert check_claims(WrongMulBackend(), sample_cases) == []


# Dtype and device ----------------------------------------------------------------------------


def test_float64_runs_every_unpinned_input_in_float64(sample: pytest.Pytester) -> None:
    (sample.path / "sample" / "run-dtype-sample.yaml").write_text(
        'schema_version: "1.0"\n'
        "cases:\n"
        "  - id: follows-the-run\n"
        "    description: An input with no dtype takes the run's dtype.\n"
        "    kind: semantics\n"
        "    inputs:\n"
        "      x: {value: 1.0, requires_grad: true}\n"
        "    steps: |\n"
        "      y = x + 1e-10\n"
        "    expect:\n"
        # float32 rounds 1 + 1e-10 to 1 (its spacing at 1 is 1.2e-7), so y misses by 1e-10;
        # float64 (spacing 2.2e-16) keeps it.
        "      y: {value: 1.0000000001, atol: 1.0e-12, rtol: 0}\n",
        encoding="utf-8",
    )
    args = ["--autograd-backend=torch", "--autograd-cases=sample", "-k", "run-dtype-sample.yaml"]
    assert sample.runpytest(*args).parseoutcomes().get("failed") == 1
    assert sample.runpytest(*args, "--autograd-dtype=float64").parseoutcomes().get("passed") == 1


def test_float64_on_a_backend_without_it_is_a_usage_error(sample: pytest.Pytester) -> None:
    result = sample.runpytest(*spec_args("NoFloat64Backend", "--autograd-dtype=float64"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*backend 'nofloat64' does not declare the float64 capability*"])


def test_a_device_torch_lacks_is_a_clear_usage_error(sample: pytest.Pytester) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    result = sample.runpytest(*spec_args("torch", "--autograd-device=cuda"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--autograd-device=cuda: backend 'torch' cannot run on device 'cuda' here*"]
    )


def test_a_cuda_run_runs_on_the_gpu(sample: pytest.Pytester) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    result = sample.runpytest(*spec_args("torch", "--autograd-device=cuda"))
    result.stdout.fnmatch_lines(["autograd-spec: backend torch * device cuda*"])
    assert result.parseoutcomes().get("passed") == 3
