"""`validate`: deliberately wrong expectations must be rejected with located messages."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.validate import validate

WriteCases = Callable[..., Path]

GOOD = """\
schema_version: "1.0"
cases:
  - id: partials
    description: The partials of y = x0 + x1 ** 2 are 1 and 2 x1, and the second 2.
    kind: math
    inputs:
      x: {value: [[0.6896, 0.3966], [0.0767, 0.2957]], requires_grad: true}
    steps: |
      y = x[:, 0] + x[:, 1] ** 2
      g1 = grad(y, x, grad_outputs=ones_like(y), create_graph=True)[0]
      g2 = grad(g1, x, grad_outputs=ones_like(g1))[0]
    expect:
      y: {value: [0.84689156, 0.16413849]}
      g1: {value: [[1, 0.7932], [1, 0.5914]]}
      g2: {value: [[0, 2], [0, 2]]}
"""


def run(path: Path, **options: bool) -> tuple[int, str]:
    out = io.StringIO()
    status = validate([path], out, **options)
    return status, out.getvalue()


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the file text that contains ``fragment``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_correct_expectations_pass(write_cases: WriteCases) -> None:
    status, report = run(write_cases(GOOD))
    assert status == 0, report
    assert "1 cases, 3 checked, 0 not judged, 0 contradicted" in report
    assert "validate: 1 files, 1 cases, 3 expectations checked by the oracle" in report
    assert "tolerance:" in report


def test_wrong_gradient_element_is_located(write_cases: WriteCases) -> None:
    text = GOOD.replace("[[1, 0.7932], [1, 0.5914]]", "[[1, 0.7932], [1, 0.5814]]")
    status, report = run(write_cases(text))
    assert status == 1
    line = line_of(text, "g1: {value")
    # 2 * 0.2957 = 0.5914, not 0.5814
    assert f"cases.yaml:{line}: case 'partials': g1[1, 1]: expected 0.5814, oracle 0.5914" in report
    assert "> tol" in report
    assert "1 contradicted" in report.splitlines()[-1]


def test_wrong_second_derivative_is_located(write_cases: WriteCases) -> None:
    text = GOOD.replace("[[0, 2], [0, 2]]", "[[0, 2], [0, 1]]")
    status, report = run(write_cases(text))
    assert status == 1
    assert f"cases.yaml:{line_of(text, 'g2: {value')}: case 'partials': g2[1, 1]" in report


def test_wrong_forward_value_is_located(write_cases: WriteCases) -> None:
    # 0.0767 + 0.2957^2 = 0.16413849, so 0.1741 is wrong by 0.01
    text = GOOD.replace("[0.84689156, 0.16413849]", "[0.84689156, 0.1741]")
    status, report = run(write_cases(text))
    assert status == 1
    assert (
        f"cases.yaml:{line_of(text, 'y: {value')}: case 'partials': y[1]: expected 0.1741" in report
    )


def test_wrong_shape_is_rejected(write_cases: WriteCases) -> None:
    text = GOOD.replace("[0.84689156, 0.16413849]", "[[0.84689156], [0.16413849]]")
    status, report = run(write_cases(text))
    assert status == 1
    assert "case 'partials': y: shape: expected (2, 1), oracle (2,)" in report


def test_wrong_shape_key_is_rejected(write_cases: WriteCases) -> None:
    text = GOOD.replace("g2: {value: [[0, 2], [0, 2]]}", "g2: {shape: [4]}")
    status, report = run(write_cases(text))
    assert status == 1
    assert f"cases.yaml:{line_of(text, 'g2: {shape')}: case 'partials': g2.shape:" in report
    assert "expected (4,), oracle (2, 2)" in report


def test_tolerance_of_the_case_is_used(write_cases: WriteCases) -> None:
    # 0.7932 is 2 * 0.3966 exactly; 0.7931 is off by 1e-4: rejected by default, accepted at 2e-4.
    wrong = GOOD.replace("0.7932", "0.7931")
    assert run(write_cases(wrong))[0] == 1
    loose = wrong.replace(
        "g1: {value: [[1, 0.7931], [1, 0.5914]]}",
        "g1: {value: [[1, 0.7931], [1, 0.5914]], atol: 0.0002}",
    )
    status, report = run(write_cases(loose))
    assert status == 0, report


SEMANTICS = """\
schema_version: "1.0"
cases:
  - id: relu-kink
    description: At 0 the derivative of relu is taken to be 0 by convention here.
    kind: KIND
    ORACLE
    inputs:
      x: {value: [0.0, 2.0], requires_grad: true}
    steps: |
      y = relu(x)
      g = grad(y, x, grad_outputs=ones_like(y))[0]
    expect:
      y: {value: [0.0, 2.0], grad_fn: true}
      g: {value: [0.0, 1.0]}
"""


def test_a_convention_the_oracle_cannot_judge_is_listed_with_the_case_reason(
    write_cases: WriteCases,
) -> None:
    text = SEMANTICS.replace(
        "KIND", "convention\n    convention: {subgradient.relu: zero}"
    ).replace("ORACLE", "oracle: a central difference at a kink averages the two slopes")
    status, report = run(write_cases(text))
    assert status == 0, report
    line = line_of(text, "g: {value")
    assert "not judged: " in report
    assert f"cases.yaml:{line}: case 'relu-kink': g[0]: the oracle differs" in report
    assert "case says: a central difference at a kink averages the two slopes" in report
    assert "y.grad_fn: graph history (grad_fn) is tape semantics" in report


def test_quiet_hides_what_is_not_judged(write_cases: WriteCases) -> None:
    text = SEMANTICS.replace("KIND", "semantics").replace("ORACLE", "oracle: kinks")
    status, report = run(write_cases(text), quiet=True)
    assert status == 0
    assert "not judged:" not in report
    assert "2 not judged" in report.splitlines()[-1]


def test_without_a_reason_the_oracle_contradicts(write_cases: WriteCases) -> None:
    text = SEMANTICS.replace("KIND", "semantics").replace("    ORACLE\n", "")
    status, report = run(write_cases(text))
    assert status == 1
    assert "CONTRADICTED" in report and "g[0]: expected 0, oracle 0.5" in report


def test_a_math_value_the_oracle_cannot_judge_fails(write_cases: WriteCases) -> None:
    text = """\
    schema_version: "1.0"
    cases:
      - id: hooked
        description: A hook doubles the gradient of x, which the oracle does not model.
        kind: math
        inputs:
          x: {value: 1.0, requires_grad: true}
        steps: |
          h = x.register_hook(lambda g: g * 2)
          y = x * 3
          y.backward()
        expect:
          y: {value: 3.0}
          x: {grad: 6.0}
    """
    status, report = run(write_cases(text))
    assert status == 1
    assert "x.grad: a hook (register_hook) may change this gradient" in report
    assert "1 math values the oracle cannot judge" in report.splitlines()[-1]


def test_steps_after_an_expected_error_are_not_run(write_cases: WriteCases) -> None:
    text = """\
    schema_version: "1.0"
    cases:
      - id: implicit-seed
        description: grad of a vector output without grad_outputs is an error.
        kind: semantics
        inputs:
          x: {value: [1.0, 2.0], requires_grad: true}
        steps: |
          y = x * 2
          g = grad(y, x)[0]
        raises: {line: 2, misuse: freed-graph}
        expect:
          y: {value: [2.0, 4.0]}
    """
    status, report = run(write_cases(text))
    assert status == 0, report
    assert "(raises): expected errors are tape semantics" in report
    assert "1 checked" in report


def test_a_file_that_does_not_load_fails(write_cases: WriteCases) -> None:
    path = write_cases(GOOD.replace("grad_outputs=ones_like(y)", "grad_output=ones_like(y)"))
    status, report = run(path)
    assert status == 1
    assert "FAILED to load" in report and "grad() has no argument 'grad_output'" in report


def test_the_command_line(write_cases: WriteCases, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_cases(GOOD.replace("0.5914", "0.5"))
    assert main(["validate", str(path.parent)]) == 1
    out = capsys.readouterr().out
    assert "g1[1, 1]: expected 0.5, oracle 0.5914" in out


def test_the_founding_document_case_file_validates() -> None:
    path = (
        Path(__file__).resolve().parent.parent
        / "cases"
        / "documents"
        / "autograd-grad-partials.yaml"
    )
    status, report = run(path)
    assert status == 0, report
