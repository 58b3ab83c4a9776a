"""A small case file whose outcome on each sample adapter is known by construction.

On ``wrongmul`` (which multiplies by adding) product-rule diverges: z = 3 + 4
= 7 instead of 12, and dz/dx = 1 instead of y = 4; sum-rule and
backward-fills-grad use no multiplication and pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# In-process pytester runs drop the modules a run imported; torch cannot be
# imported twice in one process, so it is imported here, before any run.
import conformance.adapters.torch_backend  # noqa: F401

ADAPTERS = Path(__file__).resolve().parent

SAMPLE_CASES = """\
schema_version: "1.0"
cases:
  - id: product-rule
    description: The derivative of x times y with respect to x is y.
    kind: math
    inputs:
      x: {value: 3.0, requires_grad: true}
      y: {value: 4.0, requires_grad: true}
    steps: |
      z = x * y
      g = grad(z, x)[0]
    expect:
      z: {value: 12.0}
      g: {value: 4.0}
  - id: sum-rule
    description: The derivative of x plus y with respect to x is one.
    kind: math
    inputs:
      x: {value: 3.0, requires_grad: true}
      y: {value: 4.0, requires_grad: true}
    steps: |
      z = x + y
      g = grad(z, x)[0]
    expect:
      z: {value: 7.0}
      g: {value: 1.0}
  - id: backward-fills-grad
    description: backward() of x plus x writes two into the leaf's .grad.
    kind: semantics
    inputs:
      x: {value: 3.0, requires_grad: true}
    steps: |
      z = x + x
      z.backward()
    expect:
      x: {grad: 2.0}
"""

#: Node ids of the sample cases as the plugin names them (``--autograd-cases=sample``).
FILE = "sample/harness-sample.yaml"
PRODUCT = f"{FILE}::product-rule"
SUM = f"{FILE}::sum-rule"
BACKWARD = f"{FILE}::backward-fills-grad"

#: Selects the sample cases only, leaving the bundled spec out of a test run.
SELECT = ("-k", "harness-sample.yaml")


def write_sample(pytester: pytest.Pytester) -> None:
    """Write the sample cases under ``sample/`` and make the sample adapters importable."""
    folder = pytester.path / "sample"
    folder.mkdir(exist_ok=True)
    (folder / "harness-sample.yaml").write_text(SAMPLE_CASES, encoding="utf-8")
    pytester.syspathinsert(ADAPTERS)


def spec_args(backend: str, *extra: str) -> list[str]:
    """Arguments for a run of the sample cases on ``sample_backends:<backend>``."""
    target = backend if backend == "torch" else f"sample_backends:{backend}"
    return [
        f"--autograd-backend={target}",
        "--autograd-cases=sample",
        *SELECT,
        "-p",
        "no:cacheprovider",
        *extra,
    ]
