"""The spec on a real engine other than torch: mygrad, a numpy tape autograd.

What this shows: the portable spec is portable (every `math` case mygrad can
run agrees, but for four of mygrad's own limits), and where mygrad's tape
semantics differ from torch's the spec says so; what mygrad lacks is skipped
by name, never passed.
"""

from __future__ import annotations

import pytest
from sample_adapters.mygrad_backend import MygradBackend

from conformance.loader import bundled_cases_dir, iter_case_paths, load_case_file
from conformance.model import Case
from conformance.runner import Outcome, RunOptions, Verdict, run_case


@pytest.fixture(scope="module")
def verdicts() -> dict[tuple[str, str], tuple[Case, Verdict]]:
    root = bundled_cases_dir()
    backend = MygradBackend()
    results = {}
    for path in iter_case_paths(root):
        for case in load_case_file(path, display=path.relative_to(root).as_posix()).cases:
            results[(case.topic, case.id)] = (case, run_case(case, backend, RunOptions()))
    return results


def failed(verdicts: dict[tuple[str, str], tuple[Case, Verdict]], kind: str) -> set[str]:
    return {
        f"{topic}::{case_id}"
        for (topic, case_id), (case, verdict) in verdicts.items()
        if case.kind == kind and verdict.outcome is Outcome.FAILED
    }


def test_math_cases_agree_but_for_mygrads_own_limits(
    verdicts: dict[tuple[str, str], tuple[Case, Verdict]],
) -> None:
    assert failed(verdicts, "math") == {
        # Tensor.astype is not differentiable in mygrad: the cast cuts the graph.
        "dtype::grad-through-double-cast-is-float32",
        "dtype::grad-through-float-cast-is-float64",
        # mygrad refuses floor and sign on tensors that require grad.
        "requires-grad::floor-gradient-zero",
        "requires-grad::sign-gradient-zero",
    }
    ran = [
        v for (c, v) in verdicts.values() if c.kind == "math" and v.outcome is not Outcome.SKIPPED
    ]
    assert len(ran) > 120  # of the 250-odd math cases; the rest need what mygrad lacks


def test_tape_semantics_that_differ_from_torch_are_caught(
    verdicts: dict[tuple[str, str], tuple[Case, Verdict]],
) -> None:
    caught = failed(verdicts, "semantics")
    assert {
        # backward() resets .grad instead of adding to it.
        "accumulation::backwards-of-different-graphs-accumulate",
        "documents::gradients-accumulate-until-zeroed",
        # In-place writes to a leaf that requires grad are allowed.
        "in-place::leaf-add-inplace-raises",
        # backward() of a non-scalar without a gradient sums it instead of raising.
        "vjp::nonscalar-backward-without-gradient",
        # A result made under no_autodiff still requires grad.
        "documents::no-grad-result-has-no-history",
    } <= caught


def test_what_mygrad_lacks_is_skipped_by_name(
    verdicts: dict[tuple[str, str], tuple[Case, Verdict]],
) -> None:
    higher_order = [v for (c, v) in verdicts.values() if "higher-order" in c.capabilities]
    assert higher_order
    assert all(v.outcome is Outcome.SKIPPED for v in higher_order)
    assert all("lacks capability" in v.reason and "higher-order" in v.reason for v in higher_order)
    _, logsumexp = verdicts[("ops", "logsumexp-first-derivative")]
    assert logsumexp.outcome is Outcome.SKIPPED
    assert "operation 'logsumexp'" in logsumexp.reason
