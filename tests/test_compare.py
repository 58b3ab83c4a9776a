"""Comparison of observed arrays with expected ones.

The rule is ``|got - expected| <= atol + rtol * |expected|`` per element. The
values below are exact in binary floating point (halves and quarters), so
each edge is hit exactly, not approximately.
"""

from __future__ import annotations

import numpy as np
import pytest

from conformance.compare import Mismatch, compare_arrays, resolve_tolerance
from conformance.model import Tolerance

NAN, INF = float("nan"), float("inf")


def check(expected: object, got: object, rtol: float = 0.0, atol: float = 0.0) -> str | None:
    return compare_arrays(np.asarray(expected), np.asarray(got), rtol, atol)


def test_equal_arrays_match() -> None:
    assert check([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]]) is None


@pytest.mark.parametrize(
    ("expected", "got", "rtol", "atol", "matches"),
    [
        pytest.param(1.0, 1.5, 0.0, 0.5, True, id="atol-edge-inclusive"),
        pytest.param(1.0, 1.5 + 2**-40, 0.0, 0.5, False, id="atol-just-over"),
        pytest.param(1.0, 0.5, 0.0, 0.5, True, id="atol-edge-below"),
        pytest.param(4.0, 5.0, 0.25, 0.0, True, id="rtol-edge-inclusive"),
        pytest.param(4.0, 5.0 + 2**-40, 0.25, 0.0, False, id="rtol-just-over"),
        pytest.param(-4.0, -5.0, 0.25, 0.0, True, id="rtol-uses-magnitude"),
        pytest.param(2.0, 3.0, 0.25, 0.5, True, id="atol-plus-rtol"),
        pytest.param(2.0, 3.0 + 2**-40, 0.25, 0.5, False, id="atol-plus-rtol-just-over"),
        # rtol scales |expected|, not |got|: 0.2 * 4 = 0.8 < 1, though 0.2 * 5 = 1.
        pytest.param(4.0, 5.0, 0.2, 0.0, False, id="rtol-of-expected-not-got"),
        pytest.param(5.0, 4.0, 0.2, 0.0, True, id="rtol-of-expected"),
        pytest.param(0.0, 2**-30, 0.5, 0.0, False, id="rtol-alone-at-zero"),
        pytest.param(0.0, 0.0, 0.0, 0.0, True, id="zero-tolerance-equal"),
        pytest.param(1.0, 1.0 + 2**-52, 0.0, 0.0, False, id="zero-tolerance-one-ulp"),
    ],
)
def test_tolerance_edges(
    expected: float, got: float, rtol: float, atol: float, matches: bool
) -> None:
    assert (check(expected, got, rtol, atol) is None) is matches


@pytest.mark.parametrize(
    ("expected", "got", "matches"),
    [
        pytest.param(NAN, NAN, True, id="nan-equals-nan"),
        pytest.param(NAN, 1.0, False, id="nan-expected-number-got"),
        pytest.param(1.0, NAN, False, id="number-expected-nan-got"),
        pytest.param(INF, INF, True, id="inf-equals-inf"),
        pytest.param(-INF, -INF, True, id="minus-inf-equals-minus-inf"),
        pytest.param(INF, -INF, False, id="inf-not-minus-inf"),
        pytest.param(INF, 1e300, False, id="inf-not-a-large-number"),
        pytest.param(1e300, INF, False, id="large-number-not-inf"),
        pytest.param(INF, NAN, False, id="inf-not-nan"),
        pytest.param(NAN, INF, False, id="nan-not-inf"),
    ],
)
def test_nan_and_infinities_compare_exactly(expected: float, got: float, matches: bool) -> None:
    # A huge tolerance must not let a non-finite value pass for a finite one.
    assert (check(expected, got, rtol=1.0, atol=1e308) is None) is matches


def test_non_finite_mismatch_message_says_so() -> None:
    message = check([1.0, INF], [1.0, NAN])
    assert message is not None
    assert "expected inf, got nan" in message
    assert "NaN and infinities compare exactly" in message
    assert "[1]" in message


def test_nan_positions_must_agree() -> None:
    assert check([NAN, 1.0], [NAN, 1.0]) is None
    assert check([NAN, 1.0], [1.0, NAN]) is not None


@pytest.mark.parametrize(
    ("expected_shape", "got_shape"),
    [
        ((3,), (1, 3)),
        ((1, 3), (3,)),
        ((3, 1), (1, 3)),
        ((), (1,)),
        ((1,), ()),
        ((2, 3), (3, 2)),
        ((0,), (1,)),
    ],
)
def test_shapes_must_be_equal_no_broadcasting(
    expected_shape: tuple[int, ...], got_shape: tuple[int, ...]
) -> None:
    # Equal values everywhere, so only the shape can differ.
    message = compare_arrays(np.ones(expected_shape), np.ones(got_shape), 1.0, 1.0)
    assert message == f"shape: expected {expected_shape}, got {got_shape}"


def test_empty_arrays_of_equal_shape_match() -> None:
    assert compare_arrays(np.ones((0, 3)), np.ones((0, 3)), 0.0, 0.0) is None


def test_worst_element_and_count_are_reported() -> None:
    # Excesses over atol 0.01: [1] by 0.49, [2] by 0.09; [0] is within.
    message = check([1.0, 2.0, 3.0], [1.005, 2.5, 3.1], atol=0.01)
    assert message is not None
    assert message.startswith("2 of 3 elements differ; worst at [1]: expected 2, got 2.5")
    assert "atol 0.01" in message


def test_worst_index_in_two_dims() -> None:
    message = check([[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.25], [1.0, 0.0]])
    assert message is not None
    assert "worst at [1, 0]" in message


def test_scalar_mismatch_has_no_index() -> None:
    message = check(1.0, 2.0)
    assert message is not None
    assert message.startswith("differs: expected 1, got 2")


def test_float32_got_compares_against_float64_expected() -> None:
    got = np.asarray([0.1, 1 / 3], dtype=np.float32)  # rounded to float32
    expected = np.asarray([0.1, 1 / 3], dtype=np.float64)
    assert compare_arrays(expected, got, 1.3e-6, 1e-5) is None
    assert compare_arrays(expected, got, 0.0, 0.0) is not None


def test_integer_arrays_compare_exactly_at_zero_tolerance() -> None:
    assert compare_arrays(np.arange(4), np.arange(4), 0.0, 0.0) is None
    assert compare_arrays(np.arange(4), np.arange(4) + 1, 0.0, 0.0) is not None


@pytest.mark.parametrize(
    ("expected", "got", "matches"),
    [
        ([True, False], [True, False], True),
        ([True, False], [True, True], False),
        ([True, False], [1.0, 0.0], True),
    ],
)
def test_boolean_masks(expected: list[bool], got: list[object], matches: bool) -> None:
    result = compare_arrays(np.asarray(expected), np.asarray(got), 1.0, 1.0)
    assert (result is None) is matches
    if not matches:
        assert result is not None and "1 of 2 elements differ; first at [1]" in result


def test_boolean_shape_mismatch() -> None:
    assert compare_arrays(np.asarray([True]), np.asarray([[True]]), 0.0, 0.0) is not None


def test_dtype_default_tolerances_are_tighter_for_float64() -> None:
    # A relative error of 1e-6 is float32 noise but a real difference in float64.
    for dtype, matches in (("float32", True), ("float64", False)):
        rtol, atol = resolve_tolerance(dtype)
        assert (check(1.0, 1.0 + 1e-6, rtol, atol) is None) is matches


def test_unknown_dtype_has_zero_tolerance() -> None:
    assert resolve_tolerance("int64") == (0.0, 0.0)


def test_most_specific_tolerance_wins_per_field() -> None:
    case = Tolerance(rtol=0.5, atol=0.25)
    expectation = Tolerance(atol=0.125)
    assert resolve_tolerance("float64", case, expectation) == (0.5, 0.125)
    assert resolve_tolerance("float64", case) == (0.5, 0.25)
    assert resolve_tolerance("float64", Tolerance(), Tolerance(rtol=0.0)) == (
        0.0,
        resolve_tolerance("float64")[1],
    )


def test_zero_tolerance_is_kept_not_mistaken_for_unset() -> None:
    assert resolve_tolerance("float32", Tolerance(rtol=0.0, atol=0.0)) == (0.0, 0.0)


def test_mismatch_text_names_variable_and_line() -> None:
    assert str(Mismatch("g", "value", "differs: expected 1, got 2", 12)) == (
        "g: differs: expected 1, got 2 (line 12)"
    )
    assert str(Mismatch("g", "value", "x")) == "g: x"
