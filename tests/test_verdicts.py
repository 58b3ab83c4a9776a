"""Verdicts that are earned: adapter faults are not answers, checks (not cases) need capabilities.

Each adapter here comes from tests/sample_adapters/faulty_backends.py and
differs from torch by one fault of its own; the cases are the bundled ones
where a bundled case states the rule, so the tests follow the spec's claims.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sample_adapters import faulty_backends as faulty

from conformance.backend import Backend, check_capabilities
from conformance.errors import CaseFileError
from conformance.loader import bundled_cases_dir, load_case_file
from conformance.model import Case
from conformance.runner import Outcome, RunOptions, run_case

pytest.importorskip("torch")


def bundled(path: str, case_id: str) -> Case:
    file = load_case_file(bundled_cases_dir() / path, display=f"cases/{path}")
    return next(case for case in file.cases if case.id == case_id)


DETACHED = ("documents/autograd-introduction.yaml", "backward-through-detached-is-an-error")
SECOND_BACKWARD = ("graph-lifetime/freed-graphs.yaml", "second-backward-error")
CONSTANT_INPUT = ("requires-grad/grad-errors.yaml", "grad-wrt-constant-input-raises")

#: A case whose one operation is exp, where the faulty adapters have their faults.
EXP = """
schema_version: "1.0"
cases:
  - id: exp
    description: exp at zero is one.
    kind: math
    inputs:
      x: {value: 0.0}
    steps: |
      y = exp(x)
    expect:
      y: {value: 1.0}
"""


def test_the_reference_passes_the_expected_errors_and_names_what_answered(
    torch_backend: Backend,
) -> None:
    verdict = run_case(bundled(*SECOND_BACKWARD), torch_backend, RunOptions(strict=True))
    assert verdict.outcome is Outcome.PASSED
    assert verdict.raised is not None
    assert verdict.raised.type == "RuntimeError"
    assert "second time" in verdict.raised.message
    assert verdict.raised.misuse == "freed-graph"
    assert not verdict.raised.emulated


@pytest.mark.parametrize(
    "case",
    [DETACHED, SECOND_BACKWARD],
    ids=["detached", "second-backward"],
)
def test_an_attribute_error_in_the_adapter_does_not_answer_an_expected_error(
    case: tuple[str, str],
) -> None:
    verdict = run_case(bundled(*case), faulty.TypoInBackward(), RunOptions())
    assert verdict.outcome is Outcome.ERROR
    (mismatch,) = verdict.mismatches
    assert mismatch.check == "adapter"
    assert "AttributeError" in mismatch.message
    assert "faulty_backends.py" in mismatch.message  # where the adapter failed
    assert "faulty_backends.py" in verdict.traceback


def test_a_raise_in_the_adapters_own_code_is_not_the_engines_answer() -> None:
    verdict = run_case(bundled(*CONSTANT_INPUT), faulty.RaisesForTheEngine(), RunOptions())
    assert verdict.outcome is Outcome.ERROR
    assert "raised by the adapter's own code" in verdict.mismatches[0].message


def test_an_error_the_adapter_raises_on_purpose_answers_and_says_so() -> None:
    verdict = run_case(bundled(*CONSTANT_INPUT), faulty.EmulatesTheEngine(), RunOptions())
    assert verdict.outcome is Outcome.PASSED
    assert verdict.raised is not None and verdict.raised.emulated
    assert verdict.raised.misuse == "input-not-requiring-grad"


def test_a_call_with_the_wrong_arguments_is_an_adapter_error() -> None:
    verdict = run_case(bundled(*SECOND_BACKWARD), faulty.WrongSignature(), RunOptions())
    assert verdict.outcome is Outcome.ERROR
    assert "wrong arguments" in verdict.mismatches[0].message


def test_an_error_outside_the_declared_engine_errors_is_an_adapter_error(
    load_case: Callable[[str], Case],
) -> None:
    case = load_case(
        """
        schema_version: "1.0"
        cases:
          - id: index-out-of-range
            description: Indexing past the end is an error.
            kind: semantics
            inputs:
              x: {value: [1.0, 2.0], requires_grad: true}
            steps: |
              y = x[5]
            raises: {line: 1, misuse: freed-graph}
            expect:
              x: {value: [1.0, 2.0]}
        """
    )

    class OnlyRuntimeErrors(faulty.TorchBackend):
        engine_errors = (RuntimeError,)

    assert run_case(case, faulty.TorchBackend(), RunOptions()).outcome is Outcome.PASSED
    verdict = run_case(case, OnlyRuntimeErrors(), RunOptions())
    assert verdict.outcome is Outcome.ERROR
    assert "IndexError" in verdict.mismatches[0].message
    assert "RuntimeError" in verdict.mismatches[0].message  # what the adapter declares


def test_engine_errors_must_name_the_engines_own_classes() -> None:
    class TooBroad(faulty.TorchBackend):
        engine_errors = (Exception,)

    with pytest.raises(ValueError, match="engine_errors"):
        check_capabilities(TooBroad)


def test_a_base_exception_from_an_operation_is_an_error_with_its_message(
    load_case: Callable[[str], Case],
) -> None:
    case = load_case(EXP)
    verdict = run_case(case, faulty.ExitsInExp(), RunOptions())
    assert verdict.outcome is Outcome.ERROR
    assert "SystemExit: 3" in verdict.mismatches[0].message


def test_a_backend_without_introspection_still_checks_the_error() -> None:
    """The detached case reads grad_fn and requires_grad too; those go unchecked, not the case."""
    case = bundled(*DETACHED)
    verdict = run_case(case, faulty.NoIntrospection(), RunOptions())
    assert verdict.outcome is Outcome.PASSED
    assert verdict.raised is not None and verdict.raised.misuse == "output-without-history"
    assert {(u.variable, u.check, u.needs) for u in verdict.unchecked} == {
        ("z", "grad_fn", "capability grad-fn"),
        ("z", "requires_grad", "capability requires-grad-flag"),
    }
    # ... and it is a real check: a detach() that keeps the history fails it.
    broken = run_case(case, faulty.DetachKeepsHistory(), RunOptions())
    assert broken.outcome is Outcome.FAILED
    assert "did not" in broken.mismatches[0].message


def test_a_case_with_nothing_left_to_check_is_skipped_not_passed(
    load_case: Callable[[str], Case],
) -> None:
    case = load_case(
        """
        schema_version: "1.0"
        cases:
          - id: only-flags
            description: A product of a leaf that requires grad carries history.
            kind: semantics
            inputs:
              x: {value: 2.0, requires_grad: true}
            steps: |
              y = x * 3
            expect:
              y: {grad_fn: true, requires_grad: true}
        """
    )
    verdict = run_case(case, faulty.NoIntrospection(), RunOptions())
    assert verdict.outcome is Outcome.SKIPPED
    assert "nothing left to check" in verdict.reason
    assert "grad-fn" in verdict.reason and "requires-grad-flag" in verdict.reason


def test_a_case_past_its_timeout_is_timed_out_promptly(load_case: Callable[[str], Case]) -> None:
    case = load_case(EXP)
    start = time.monotonic()
    verdict = run_case(case, faulty.HangsInExp(), RunOptions(timeout=0.5))
    assert time.monotonic() - start < 5
    assert verdict.outcome is Outcome.TIMED_OUT
    assert "0.5 s" in verdict.mismatches[0].message
    # the alarm is gone afterwards: the next case runs to its end
    assert run_case(case, faulty.TorchBackend(), RunOptions(timeout=5)).outcome is Outcome.PASSED


@pytest.mark.parametrize("pattern", ["(.|.)*QQQQ", "(a+)+b", "(x)\\\\1", "a.*b.*c"])
def test_a_match_pattern_that_could_backtrack_without_bound_is_refused(
    load_case: Callable[[str], Case], pattern: str
) -> None:
    with pytest.raises(CaseFileError, match=r"raises\.match"):
        load_case(
            f"""
            schema_version: "1.0"
            cases:
              - id: freed
                description: A second backward through a freed graph raises.
                kind: semantics
                inputs:
                  x: {{value: 2.0, requires_grad: true}}
                steps: |
                  y = x * x
                  y.backward()
                  y.backward()
                raises: {{line: 3, misuse: freed-graph, match: "{pattern}"}}
                expect:
                  x: {{value: 2.0}}
            """
        )


def test_an_expected_error_case_must_name_its_misuse(load_cases: Callable[..., object]) -> None:
    with pytest.raises(CaseFileError, match="misuse"):
        load_cases(
            """
            schema_version: "1.0"
            cases:
              - id: freed
                description: A second backward through a freed graph raises.
                kind: semantics
                inputs:
                  x: {value: 2.0, requires_grad: true}
                steps: |
                  y = x * x
                  y.backward()
                  y.backward()
                raises: {line: 3}
                expect:
                  x: {value: 2.0}
            """
        )


def test_every_expected_error_in_the_spec_names_a_misuse() -> None:
    from conformance.listing import bundled_cases
    from conformance.misuses import MISUSES

    expecting = [case for case in bundled_cases() if case.raises is not None]
    assert len(expecting) >= 40
    assert all(case.raises is not None and case.raises.misuse in MISUSES for case in expecting)
    # every misuse of the vocabulary is stated by at least one case
    assert {case.raises.misuse for case in expecting if case.raises} == set(MISUSES)


def test_capabilities_declared_by_hand_in_the_spec_are_what_inference_cannot_see() -> None:
    """A hand-declared capability gates a case: it must be a need of the steps, stated once."""
    import yaml

    from conformance.capabilities import infer_capabilities

    for path in sorted(bundled_cases_dir().rglob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        declared = {c["id"]: set(c.get("capabilities", ())) for c in raw["cases"]}
        for case in load_case_file(path).cases:
            float64 = case.dtype == "float64" or any(i.dtype == "float64" for i in case.inputs)
            inferred = infer_capabilities(case.program, float64)
            assert declared[case.id] <= {"graph-freeing", "graph-membership"}, (path, case.id)
            assert not declared[case.id] & inferred, (path, case.id)


def test_a_step_over_the_element_limit_fails_the_case_before_allocating(
    load_case: Callable[[str], Case], torch_backend: Backend
) -> None:
    """repeat(1000, 1000) passes at load (x's shape is not known there); on a 2 x 2 input it
    would make 4,000,000 elements, over the limit: the case fails at that step, as a limit."""
    case = load_case(
        """
        schema_version: "1.0"
        cases:
          - id: huge-repeat
            description: Repeating a tensor tiles it.
            kind: math
            inputs:
              x: {value: [[1.0, 2.0], [3.0, 4.0]]}
            steps: |
              y = x.repeat(1000, 1000)
            expect:
              y: {shape: [2000, 2000]}
        """
    )
    verdict = run_case(case, torch_backend, RunOptions())
    assert verdict.outcome is Outcome.FAILED
    (mismatch,) = verdict.mismatches
    assert mismatch.check == "limit"
    assert "x.repeat(1000, 1000)" in mismatch.message
    assert "4,000,000" in mismatch.message or "4000000" in mismatch.message
