"""The founding documents' cases catch each deliberately broken adapter, and only where they should.

For every broken adapter the expected failures below were derived from what
each case checks (the reasoning is next to each set); the test runs every
case of ``cases/documents/`` and compares the failing ids with that set. A
broken adapter that fails no case, or a case that fails for the wrong
reason, shows up here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from broken_adapters import (
    GradFnEverywhere,
    IgnoresCreateGraph,
    NeverFreesGraph,
    OverwritesGrad,
)

from conformance.adapters.torch_backend import TorchBackend
from conformance.backend import Backend
from conformance.loader import bundled_cases_dir, iter_case_paths, load_case_file
from conformance.model import Case
from conformance.runner import Outcome, RunOptions, Verdict, run_case

A = "autograd-grad-partials"
B = "grad-signature"
C = "multivariate-higher-order"
D = "autograd-introduction"

EXPECTED_FAILURES: dict[type[Backend], set[str]] = {
    # Only cases that run backward twice on one leaf without clearing in between
    # see the difference between adding to .grad and replacing it.
    OverwritesGrad: {
        f"{C}::second-order-backward-without-clearing-accumulates",  # 4x + 4, not 4
        f"{D}::gradients-accumulate-until-zeroed",  # 2 + 3, not 3
    },
    # Every case that differentiates a derivative, or checks that a derivative
    # taken with create_graph has history. retain-graph-defaults-to-create-graph
    # fails too: without create_graph the graph is freed after the first pass.
    IgnoresCreateGraph: {
        f"{A}::partial-derivatives-first-and-second",
        f"{A}::partial-derivatives-graph-history",
        f"{B}::squares-first-and-second-derivative",
        f"{B}::in-place-filled-tensor-derivatives",
        f"{B}::retain-graph-defaults-to-create-graph",
        f"{C}::backward-create-graph-grad-has-history",
        f"{C}::second-order-backward-after-clearing",
        f"{C}::second-order-backward-without-clearing-accumulates",
        f"{C}::grad-returns-derivatives-as-a-tuple",
        f"{C}::grad-accumulates-nothing",
        f"{C}::cubic-second-derivatives-per-column",
        f"{C}::cubic-second-derivatives-together-are-summed",
        f"{D}::cube-first-and-second-derivative",
        f"{D}::cube-derivatives-graph-history",
    },
    # Every case that expects grad_fn: false somewhere.
    GradFnEverywhere: {
        f"{A}::sum-graph-history",
        f"{A}::partial-derivatives-graph-history",
        f"{D}::backward-through-detached-is-an-error",
        f"{D}::no-grad-result-has-no-history",
        f"{D}::cube-derivatives-graph-history",
    },
    # Only a case that expects the second pass through a freed graph to raise.
    NeverFreesGraph: {
        f"{B}::retain-graph-false-frees-the-graph",
    },
}

# What each break can show up as: a broken accumulation gives wrong values; a
# missing create_graph gives errors at the second pass, missing history and
# wrong .grad; a wrong grad_fn flag shows only in grad_fn checks; a graph that
# is never freed shows as an error that did not come.
ALLOWED_CHECKS: dict[type[Backend], set[str]] = {
    OverwritesGrad: {"value", "grad"},
    IgnoresCreateGraph: {"error", "value", "grad", "grad_fn", "requires_grad"},
    GradFnEverywhere: {"grad_fn"},
    NeverFreesGraph: {"error"},
}


def _documents() -> list[tuple[str, Case]]:
    root = bundled_cases_dir() / "documents"
    found: list[tuple[str, Case]] = []
    for path in iter_case_paths(root):
        case_file = load_case_file(path, display=path.name)
        found.extend((f"{Path(path).stem}::{case.id}", case) for case in case_file.cases)
    return found


@pytest.fixture(scope="module")
def documents() -> list[tuple[str, Case]]:
    cases = _documents()
    assert cases, "no case files in cases/documents/"
    return cases


def run_all(backend: Backend, documents: list[tuple[str, Case]]) -> dict[str, Verdict]:
    return {name: run_case(case, backend, RunOptions()) for name, case in documents}


def test_reference_backend_passes_every_document_case(
    documents: list[tuple[str, Case]],
) -> None:
    verdicts = run_all(TorchBackend(), documents)
    failed = {
        name: [str(m) for m in verdict.mismatches]
        for name, verdict in verdicts.items()
        if verdict.outcome is Outcome.FAILED
    }
    assert failed == {}
    # Only torch-detail cases are skipped, and only outside strict mode.
    skipped = {name for name, verdict in verdicts.items() if verdict.outcome is Outcome.SKIPPED}
    assert skipped == {name for name, case in documents if case.kind == "torch-detail"}


@pytest.mark.parametrize("adapter", list(EXPECTED_FAILURES), ids=lambda cls: cls.__name__)
def test_broken_adapter_fails_exactly_the_cases_about_its_break(
    adapter: type[Backend], documents: list[tuple[str, Case]]
) -> None:
    verdicts = run_all(adapter(), documents)
    failed = {name for name, verdict in verdicts.items() if verdict.outcome is Outcome.FAILED}
    expected = EXPECTED_FAILURES[adapter]
    known = {name for name, _ in documents}
    assert expected <= known, f"expected failures name cases that do not exist: {expected - known}"
    assert failed, f"{adapter.__name__} passes every document case: a gap in the spec"
    assert failed == expected
    for name in failed:
        checks = {mismatch.check for mismatch in verdicts[name].mismatches}
        assert checks <= ALLOWED_CHECKS[adapter], (name, verdicts[name].mismatches)


def test_broken_adapters_are_not_skipped(documents: list[tuple[str, Case]]) -> None:
    """A break must be caught by failing cases, never hidden as a skip."""
    reference = run_all(TorchBackend(), documents)
    for adapter in EXPECTED_FAILURES:
        verdicts = run_all(adapter(), documents)
        skipped = {n for n, v in verdicts.items() if v.outcome is Outcome.SKIPPED}
        assert skipped == {n for n, v in reference.items() if v.outcome is Outcome.SKIPPED}


def test_strict_mode_does_not_hide_a_break(documents: list[tuple[str, Case]]) -> None:
    backend = NeverFreesGraph()
    strict = RunOptions(strict=True)
    failed = {
        name
        for name, case in documents
        if run_case(case, backend, strict).outcome is Outcome.FAILED
    }
    assert EXPECTED_FAILURES[NeverFreesGraph] <= failed


# Beyond the documents --------------------------------------------------------

# For each break, the topics whose cases are about it: each must fail there.
TOPICS_THAT_CATCH: dict[type[Backend], dict[str, str]] = {
    # .grad overwritten instead of added: a second backward must add.
    OverwritesGrad: {"accumulation": "two-backwards-accumulate"},
    # create_graph dropped: every second derivative and flag of create_graph.
    IgnoresCreateGraph: {
        "higher-order": "with-create-graph-history",
        "ops": "exp-second-derivative",
        "vjp": "double-vjp-gives-jvp",
    },
    # grad_fn reported on everything: leaves, detached and no_grad results.
    GradFnEverywhere: {
        "leaf": "created-requires-grad",
        "grad-modes": "detach-result-has-no-history",
        "higher-order": "without-create-graph-no-history",
    },
    # The graph kept after backward: the second pass must raise.
    NeverFreesGraph: {"graph-lifetime": "second-backward-error"},
}


@pytest.fixture(scope="module")
def topic_cases() -> list[Case]:
    root = bundled_cases_dir()
    cases = [
        case
        for path in iter_case_paths(root)
        if path.parent.name != "documents"
        for case in load_case_file(path, display=path.relative_to(root).as_posix()).cases
    ]
    assert len(cases) > 100
    return cases


@pytest.mark.parametrize("adapter", list(TOPICS_THAT_CATCH), ids=lambda cls: cls.__name__)
def test_broken_adapter_fails_the_topics_about_its_break(
    adapter: type[Backend], topic_cases: list[Case]
) -> None:
    backend = adapter()
    failed = {
        (case.topic, case.id)
        for case in topic_cases
        if run_case(case, backend, RunOptions()).outcome is Outcome.FAILED
    }
    for topic, case_id in TOPICS_THAT_CATCH[adapter].items():
        assert (topic, case_id) in failed, f"{adapter.__name__} passes {topic}::{case_id}"


def test_reference_backend_passes_the_topics(topic_cases: list[Case]) -> None:
    backend = TorchBackend()
    failed = [
        f"{case.path}::{case.id}"
        for case in topic_cases
        if run_case(case, backend, RunOptions(strict=True)).outcome is Outcome.FAILED
    ]
    assert failed == []
