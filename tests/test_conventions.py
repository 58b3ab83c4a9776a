"""Conventions: a closed vocabulary per operation family, and which cases an engine's choices skip.

An engine may differ from the spec at one kink (clamp at its bound) and agree
everywhere else; declaring that one key must skip the cases that pin it and
no other, and an undeclared key must leave its cases running.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from conformance.backend import Backend, check_capabilities
from conformance.conventions import CONVENTIONS, convention_skip_reason
from conformance.errors import CaseFileError
from conformance.loader import bundled_cases_dir, case_schema, iter_case_paths, load_case_file
from conformance.model import Case

RELU_CASE = """\
    schema_version: "1.0"
    cases:
      - id: relu-at-zero
        description: The derivative of relu at 0 is 0 under the spec's subgradient.
        kind: convention
        convention: {PINNED}
        inputs:
          x: {value: 0.0, requires_grad: true}
        steps: |
          g = grad(relu(x), x)[0]
        expect:
          g: {value: 0.0}
    """


def write_relu_case(tmp_path: Path, pinned: str) -> Path:
    path = tmp_path / "kinks.yaml"
    path.write_text(textwrap.dedent(RELU_CASE).replace("{PINNED}", pinned), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bundled() -> list[Case]:
    root = bundled_cases_dir()
    return [
        case
        for path in iter_case_paths(root)
        for case in load_case_file(path, display=path.relative_to(root).as_posix()).cases
    ]


# The vocabulary ------------------------------------------------------------------------------


def test_the_schema_lists_exactly_the_conventions() -> None:
    case = case_schema()["$defs"]["case"]["properties"]["convention"]
    assert case["propertyNames"]["enum"] == list(CONVENTIONS)


def test_every_key_names_its_family_and_an_operation() -> None:
    families = {key.split(".")[0] for key in CONVENTIONS}
    assert families == {"subgradient", "tie-break", "singular-point", "nan-propagation"}
    assert all(key.count(".") == 1 and key.split(".")[1] for key in CONVENTIONS)


@pytest.mark.parametrize(
    ("pinned", "bad"),
    [
        ("{subgradiant.relu: zero}", "subgradiant.relu"),
        # A whole family is too coarse for a case: it names the operation it pins.
        ("{subgradient: zero}", "subgradient"),
    ],
)
def test_a_convention_outside_the_vocabulary_in_a_case_is_a_located_error(
    tmp_path: Path, pinned: str, bad: str
) -> None:
    with pytest.raises(CaseFileError) as raised:
        load_case_file(write_relu_case(tmp_path, pinned), display="kinks.yaml")
    message = str(raised.value)
    assert "kinks.yaml:6" in message
    assert "relu-at-zero" in message
    assert bad in message


def test_a_case_names_the_keys_it_pins(tmp_path: Path) -> None:
    path = write_relu_case(tmp_path, "{subgradient.relu: zero}")
    (case,) = load_case_file(path, display="kinks.yaml").cases
    assert case.convention == {"subgradient.relu": "zero"}


def test_every_bundled_convention_case_pins_the_spec_values_and_every_key_is_pinned(
    bundled: list[Case],
) -> None:
    pinned: dict[str, set[str]] = {}
    for case in bundled:
        assert bool(case.convention) == (case.kind == "convention"), case.id
        for key, value in case.convention.items():
            pinned.setdefault(key, set()).add(value)
    # No key is left without a case, and no bundled case pins a value of its own.
    assert pinned == {key: {convention.pinned} for key, convention in CONVENTIONS.items()}


# Adapters ------------------------------------------------------------------------------------


def test_an_adapter_declaring_an_unknown_convention_is_rejected() -> None:
    class Misspelt(Backend):  # only the class attributes matter to the check
        name = "misspelt"
        conventions: ClassVar[Mapping[str, str]] = {"tie-break.maxx": "mine"}

    with pytest.raises(ValueError, match=r"unknown conventions \['tie-break.maxx'\]"):
        check_capabilities(Misspelt)


def test_an_adapter_declaring_a_value_that_is_not_a_name_is_rejected() -> None:
    class Flag(Backend):
        name = "flag"
        conventions: ClassVar[Mapping[str, str]] = {"subgradient.abs": True}  # type: ignore[dict-item]

    with pytest.raises(ValueError, match=r"convention subgradient.abs = True"):
        check_capabilities(Flag)


def test_an_adapter_declaring_keys_and_a_whole_family_passes() -> None:
    class Mine(Backend):
        name = "mine"
        conventions: ClassVar[Mapping[str, str]] = {
            "subgradient.clamp": "zero-at-bounds",
            "tie-break": "first",
        }

    check_capabilities(Mine)


# Which cases a declaration skips -------------------------------------------------------------


def test_an_undeclared_key_runs_the_case() -> None:
    assert convention_skip_reason({"subgradient.abs": "zero"}, {}, "mine") is None


def test_a_key_declared_as_pinned_runs_the_case() -> None:
    followed = {"subgradient.abs": "zero"}
    assert convention_skip_reason({"subgradient.abs": "zero"}, followed, "mine") is None


def test_a_key_declared_otherwise_skips_naming_key_pinned_and_followed() -> None:
    reason = convention_skip_reason({"subgradient.abs": "zero"}, {"subgradient.abs": "one"}, "mine")
    assert reason == (
        "convention subgradient.abs: case pins 'zero', backend 'mine' follows 'one' (declared)"
    )


def test_another_key_of_the_same_family_does_not_skip() -> None:
    followed = {"subgradient.clamp": "zero-at-bounds"}
    assert convention_skip_reason({"subgradient.abs": "zero"}, followed, "mine") is None


def test_of_several_keys_only_the_differing_one_is_named() -> None:
    reason = convention_skip_reason(
        {"subgradient.clamp": "one-at-bounds", "subgradient.relu": "zero"},
        {"subgradient.clamp": "zero-at-bounds"},
        "mine",
    )
    assert reason is not None
    assert "subgradient.clamp" in reason
    assert "subgradient.relu" not in reason


def test_a_family_declaration_covers_its_keys_and_a_key_overrides_it() -> None:
    followed = {"tie-break": "first", "tie-break.max-dim": "first-index"}
    reason = convention_skip_reason({"tie-break.max": "split-evenly"}, followed, "mine")
    assert reason == (
        "convention tie-break.max: case pins 'split-evenly', backend 'mine' follows 'first'"
        " (declared for all of tie-break)"
    )
    assert convention_skip_reason({"tie-break.max-dim": "first-index"}, followed, "mine") is None
    # Other families are not touched by it.
    assert convention_skip_reason({"subgradient.relu": "zero"}, followed, "mine") is None


def test_a_case_pinning_another_value_than_the_spec_skips_an_engine_that_declares_nothing() -> None:
    # A vendor's own case for its first-index convention does not apply to an
    # engine that follows the spec's even split, which is what declaring nothing says.
    reason = convention_skip_reason({"tie-break.max": "first-index"}, {}, "plain")
    assert reason == (
        "convention tie-break.max: case pins 'first-index', backend 'plain' follows"
        " 'split-evenly' (the spec's value; not declared)"
    )


def test_one_declared_key_skips_exactly_the_bundled_cases_pinning_it(bundled: list[Case]) -> None:
    def skipped(followed: Mapping[str, str]) -> set[str]:
        return {
            case.id for case in bundled if convention_skip_reason(case.convention, followed, "x")
        }

    assert skipped({}) == set()
    assert skipped({"subgradient.abs": "one"}) == {"abs-at-zero"}
    assert skipped({"subgradient.clamp": "zero-at-bounds"}) == {
        "clamp-min-at-boundary",
        "clamp-max-at-boundary",
    }
    assert skipped({"tie-break.maximum": "first-argument"}) == {
        "maximum-elementwise-ties-split",
        "minimum-elementwise-ties-split",
        "maximum-with-zero-at-zero",
    }
    # The coarse form still works, for every key of the family at once.
    assert skipped({"singular-point": "mine"}) == {
        "std-of-constant-gradient-zero",
        "nan-gradient-silent-without-anomaly-mode",
        "floor-at-integer-gradient-zero",
        "sqrt-at-zero-is-inf",
        "hand-written-norm-at-zero-is-nan",
        "pow-zero-exponent-at-zero",
        "pow-half-at-zero-is-inf",
        "pow-minus-one-at-zero-is-minus-inf",
        "log-at-zero",
    }


def test_torch_names_the_spec_value_as_adapters_declared_it_per_family() -> None:
    # {"subgradient": "torch"} said "as torch does" before keys were per operation.
    assert (
        convention_skip_reason({"subgradient.abs": "zero"}, {"subgradient": "torch"}, "x") is None
    )
    reason = convention_skip_reason({"subgradient.abs": "one"}, {"subgradient.abs": "torch"}, "x")
    assert reason is not None
    assert "follows 'zero'" in reason


def test_the_case_format_documents_every_key_with_its_pinned_value() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "case-format.md").read_text("utf-8")
    rows = re.findall(r"^  \| `([a-z-]+\.[a-z-]+)` \|[^|]*\| `([a-z-]+)`", text, re.MULTILINE)
    assert dict(rows) == {key: convention.pinned for key, convention in CONVENTIONS.items()}
