"""Capability claims, both ways, and the run settings that depend on them (dtype, device).

An adapter that declares it lacks a capability is never asked for it: the
cases needing it are skipped. Run anyway, it must answer NotSupportedError
(``check_claims``), and an adapter is accused only on evidence: a call that
answers for the capability, and a case that then fails. An adapter that
declares a capability runs its cases.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from typing import Any, ClassVar, cast

import numpy as np
import pytest
import torch
from sample_adapters.sample_backends import (
    BrokenClaimBackend,
    HonestBackend,
    WrongMulBackend,
)
from sample_adapters.spec_files import BACKWARD, PRODUCT, SAMPLE_CASES, SUM, spec_args, write_sample

from conformance.adapters.torch_backend import TorchBackend
from conformance.backend import Backend
from conformance.capabilities import CAPABILITIES
from conformance.claims import EVIDENCE, ClaimCheck, check_claims, format_claims
from conformance.cli import main
from conformance.errors import NotSupportedError
from conformance.language.vocabulary import OPS as VOCABULARY
from conformance.listing import bundled_cases
from conformance.model import Case, CaseFile


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


# --check-claims: each claim tried on every case, and judged on evidence --------------------


def only(checks: list[ClaimCheck]) -> ClaimCheck:
    (check,) = checks
    return check


def test_an_honest_claim_holds(sample_cases: list[Case]) -> None:
    check = only(check_claims(HonestBackend(), sample_cases))
    assert (check.capability, check.status) == ("backward", "holds")
    assert [trial.case.id for trial in check.of("refused")] == ["backward-fills-grad"]
    lines = format_claims(HonestBackend(), [check])
    assert (
        lines[-1] == "honest: every claim holds: each capability it lacks was tried and confirmed"
    )


def test_a_claim_hiding_a_broken_method_is_an_accusation_naming_it(
    sample_cases: list[Case],
) -> None:
    check = only(check_claims(BrokenClaimBackend(), sample_cases))
    assert check.status == "accused"
    line = format_claims(BrokenClaimBackend(), [check])[1]
    assert line.startswith(
        "  backward: accused: backward() raised RuntimeError instead of raising"
        " NotSupportedError in cases.yaml:27 (backward-fills-grad), and the case failed: "
    )
    assert "backward is half-written" in line


def test_a_method_that_answers_wrongly_is_an_accusation(sample_cases: list[Case]) -> None:
    class Silent(HonestBackend):
        name = "silent"

        def backward(self, *args: Any, **kwargs: Any) -> None:
            return None  # answers, and accumulates nothing

    check = only(check_claims(Silent(), sample_cases))
    assert check.status == "accused"
    (trial,) = check.of("accused")
    assert [(call.label, call.answer) for call in trial.calls] == [("backward()", "returned")]
    assert "x: .grad: expected a tensor, got None" in format_claims(Silent(), [check])[1]


def test_a_backend_lacking_nothing_has_no_claim_to_check(sample_cases: list[Case]) -> None:
    assert check_claims(WrongMulBackend(), sample_cases) == []
    assert format_claims(WrongMulBackend(), []) == [
        "wrongmul: declares every capability of the vocabulary; no claim to check"
    ]


def test_a_capability_no_case_needs_alone_is_not_checked_and_nothing_is_said_to_hold(
    sample_cases: list[Case],
) -> None:
    class NoHooks(HonestBackend):
        name = "nohooks"
        capabilities = HonestBackend.capabilities - {"hooks"}

    checks = check_claims(NoHooks(), sample_cases)
    assert [(c.capability, c.status) for c in checks] == [
        ("backward", "holds"),
        ("hooks", "not checked"),
    ]
    lines = format_claims(NoHooks(), checks)
    assert "  hooks: not checked: no case needs only it" in lines
    assert not any("every claim holds" in line for line in lines)


EXP_THEN_BACKWARD = """\
schema_version: "1.0"
cases:
  - id: exp-then-backward
    description: backward() of sum(exp(x)) writes exp(x) into x's .grad.
    kind: semantics
    inputs:
      x: {value: 0.0, requires_grad: true}
    steps: |
      y = exp(x).sum()
      y.backward()
    expect:
      y: {value: 1.0}
      x: {grad: 1.0}
  - id: exp-has-history
    description: exp of a tensor that requires grad carries graph history.
    kind: semantics
    inputs:
      x: {value: 0.0, requires_grad: true}
    steps: |
      y = exp(x)
    expect:
      y: {value: 1.0, grad_fn: true}
"""


def test_a_failure_caused_by_something_else_is_inconclusive_not_an_accusation(
    load_cases: Callable[[str], CaseFile],
) -> None:
    cases = list(load_cases(EXP_THEN_BACKWARD).cases)

    class RaisingExp(HonestBackend):
        """exp raises before backward() is reached; backward() is honest."""

        name = "raisingexp"
        OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {
            **HonestBackend.OPS,
            "exp": lambda x: (_ for _ in ()).throw(RuntimeError("exp is broken")),
        }

    class WrongExp(TorchBackend):
        """exp is off by one; has_grad_fn answers, and answers right."""

        name = "wrongexp"
        capabilities = TorchBackend.capabilities - {"grad-fn"}
        OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {
            **TorchBackend.OPS,
            "exp": lambda x: torch.exp(x) + 1,
        }

    for backend in (RaisingExp(), WrongExp()):
        check = only(check_claims(backend, cases))
        assert check.status == "inconclusive", backend.name
        assert [trial.case.id for trial in check.of("inconclusive")]
        lines = format_claims(backend, [check])
        assert lines[1].startswith(f"  {check.capability}: inconclusive: ")
        assert lines[2].startswith("    inconclusive: cases.yaml:")
        assert lines[-1].endswith("no claim contradicted, not all confirmed: 1 inconclusive")


def test_the_command_exits_1_only_on_an_accusation(capsys: pytest.CaptureFixture[str]) -> None:
    target = "sample_adapters.sample_backends:{}"
    assert main(["backends", "--check-claims", target.format("BrokenClaimBackend")]) == 1
    out = capsys.readouterr().out
    assert "  backward: accused: backward() raised RuntimeError" in out
    assert "brokenclaim: 1 of 1 claims contradicted" in out
    assert main(["backends", "--check-claims", target.format("HonestBackend")]) == 0
    assert "honest: every claim holds" in capsys.readouterr().out
    assert main(["backends", "--check-claims", "torch"]) == 0
    assert "no claim to check" in capsys.readouterr().out


# Every capability of the vocabulary, on the bundled spec ------------------------------------
#
# For each capability, the reference adapter less that capability, two ways: one whose calls
# for it refuse (NotSupportedError; for a behaviour, an engine that lacks it), and one whose
# calls answer wrongly. The first must hold and the second be accused, naming the call.

IN_PLACE = [name for name, spec in VOCABULARY.items() if spec.capability == "in-place"]


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise NotSupportedError("not here")


def _refuse_when(test: Callable[..., bool], method: str) -> Callable[..., Any]:
    def call(self: Backend, *args: Any, **kwargs: Any) -> Any:
        if test(*args, **kwargs):
            raise NotSupportedError("not here")
        return getattr(TorchBackend, method)(self, *args, **kwargs)

    return call


def _create_graph(method: str) -> Callable[..., bool]:
    position = 4 if method == "grad" else 3
    return lambda *args, **kwargs: bool(args[position])


def _without_create_graph(method: str) -> Callable[..., Any]:
    position = 4 if method == "grad" else 3

    def call(self: Backend, *args: Any, **kwargs: Any) -> Any:
        args = (*args[:position], False, *args[position + 1 :])
        return getattr(TorchBackend, method)(self, *args, **kwargs)

    return call


def _always_retain(method: str) -> Callable[..., Any]:
    def call(self: Backend, *args: Any, **kwargs: Any) -> Any:
        args = (*args[:-3], True, *args[-2:]) if method == "backward" else args
        if method == "grad":
            args = (*args[:3], True, *args[4:])
        return getattr(TorchBackend, method)(self, *args, **kwargs)

    return call


def _zeros_when_refused(self: Backend, outputs: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
    # An engine without graph membership answers zeros where torch refuses.
    try:
        return TorchBackend.grad(self, outputs, inputs, *args, **kwargs)
    except RuntimeError:
        return tuple(torch.zeros_like(x) for x in inputs)


def _float32(self: Backend, array: np.ndarray, requires_grad: bool) -> Any:
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    return TorchBackend.tensor(self, array, requires_grad)


def _mode_is(*modes: str) -> Callable[..., bool]:
    return lambda mode: mode in modes


def _ignore_mode(*modes: str) -> Callable[..., Any]:
    def grad_mode(self: Backend, mode: str) -> Any:
        return nullcontext() if mode in modes else TorchBackend.grad_mode(self, mode)

    return grad_mode


#: capability -> the calls refusing, the calls answering wrongly (None for a behaviour), and
#: how an accusation names the calls that answer for it.
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any] | None, tuple[str, ...]]] = {
    "backward": ({"backward": _refuse}, {"backward": lambda self, *a, **k: None}, ("backward()",)),
    "grad-accumulation": (
        dict.fromkeys(("get_grad", "zero_grad", "clear_grad"), _refuse),
        {
            "get_grad": lambda self, t: torch.zeros_like(t),
            "zero_grad": lambda self, t: None,
            "clear_grad": lambda self, t: None,
        },
        ("get_grad()", "zero_grad()", "clear_grad()"),
    ),
    "grad-fn": (
        dict.fromkeys(("has_grad_fn", "is_leaf", "grad_fn_name"), _refuse),
        {
            "has_grad_fn": lambda self, t: t.grad_fn is None,
            "is_leaf": lambda self, t: not t.is_leaf,
            "grad_fn_name": lambda self, t: "Wrong",
        },
        ("has_grad_fn()", "is_leaf()", "grad_fn_name()"),
    ),
    "higher-order": (
        {m: _refuse_when(_create_graph(m), m) for m in ("grad", "backward")},
        {m: _without_create_graph(m) for m in ("grad", "backward")},
        ("grad(create_graph=True)", "backward(create_graph=True)"),
    ),
    "graph-freeing": ({m: _always_retain(m) for m in ("grad", "backward")}, None, ()),
    "grad-mode": (
        {"grad_mode": _refuse_when(_mode_is("no_grad", "enable_grad"), "grad_mode")},
        {"grad_mode": _ignore_mode("no_grad", "enable_grad")},
        ("grad_mode('no_grad')", "grad_mode('enable_grad')"),
    ),
    "inference-mode": (
        {"grad_mode": _refuse_when(_mode_is("inference_mode"), "grad_mode")},
        {"grad_mode": _ignore_mode("inference_mode")},
        ("grad_mode('inference_mode')",),
    ),
    "detach": ({"detach": _refuse}, {"detach": lambda self, t: t}, ("detach()",)),
    "in-place": (
        {"OPS": {k: v for k, v in TorchBackend.OPS.items() if k not in IN_PLACE}},
        {"OPS": {**TorchBackend.OPS, **dict.fromkeys(IN_PLACE, lambda x, *rest: x * 1)}},
        tuple(f"operation {name!r}" for name in IN_PLACE),
    ),
    "retain-grad": (
        {"retain_grad": _refuse},
        {"retain_grad": lambda self, t: None},
        ("retain_grad()",),
    ),
    "requires-grad-flag": (
        dict.fromkeys(("requires_grad", "requires_grad_"), _refuse),
        {
            "requires_grad": lambda self, t: not t.requires_grad,
            "requires_grad_": lambda self, t, flag: t,
        },
        ("requires_grad()", "requires_grad_()"),
    ),
    "hooks": (
        dict.fromkeys(("register_hook", "remove_hook"), _refuse),
        {"register_hook": lambda self, t, fn: None, "remove_hook": lambda self, h: None},
        ("register_hook()", "remove_hook()"),
    ),
    "float64": (
        {"tensor": _refuse_when(lambda array, flag: array.dtype == np.float64, "tensor")},
        {"tensor": _float32},
        ("tensor() of a float64 array", "operation 'double'"),
    ),
    "graph-membership": ({"grad": _zeros_when_refused}, None, ()),
}


def lacking(capability: str, overrides: dict[str, Any]) -> Backend:
    namespace = {
        "name": f"no-{capability}",
        "capabilities": TorchBackend.capabilities - {capability},
        **overrides,
    }
    return cast("type[Backend]", type(f"No{capability}", (TorchBackend,), namespace))()


@pytest.fixture(scope="module")
def bundled() -> list[Case]:
    return bundled_cases()


def test_the_check_knows_what_answers_for_every_capability() -> None:
    assert set(EVIDENCE) == set(CAPABILITIES)
    assert set(VARIANTS) == set(CAPABILITIES)


@pytest.mark.parametrize("capability", list(CAPABILITIES))
def test_every_capability_is_tried_held_when_refused_and_accused_when_broken(
    capability: str, bundled: list[Case]
) -> None:
    refusing, broken, labels = VARIANTS[capability]
    held = only(check_claims(lacking(capability, refusing), bundled))
    assert held.capability == capability
    assert held.trials, f"no bundled case needs {capability}"
    assert not held.of("accused")
    if broken is None:  # a behaviour: what an engine without it does confirms the claim
        assert held.of("as-without")
        assert held.status in ("holds", "inconclusive")
        return
    assert held.status == "holds"
    assert held.of("refused")
    accused = only(check_claims(lacking(capability, broken), bundled))
    assert accused.status == "accused"
    first = accused.of("accused")[0]
    named = next(call.label for call in first.calls if not call.refused)
    assert named in labels
    line = format_claims(lacking(capability, broken), [accused])[1]
    assert line.startswith(f"  {capability}: accused: {named} ")
    assert f"instead of raising NotSupportedError in {first.case.location} " in line


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
