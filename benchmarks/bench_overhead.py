"""What the plugin costs per case, against a hand-written pytest test making the same torch calls.

    python benchmarks/bench_overhead.py [--cases 1000] [--pairs 3] [--files 1] [--collect-only]

Generates, in a temporary folder, N copies of the documents' second-order case
(``y = x[:, 0] + x[:, 1] ** 2``, grad with create_graph, then a second grad;
values and grad_fn checked) and one hand-written test function parametrized N
times that makes the same torch calls and the same checks. Runs both through
pytest side by side, alternating, ``--pairs`` times, and prints:

- run: wall time of each pytest process, the plugin's with pytest's cache
  folder warm (as a user's second run) and without a cache; the ratio plugin /
  hand-written (median over the pairs) is the figure to keep at or below 1.0;
- load: the time ``--collect-only`` spends on the N cases beyond collecting
  the bundled spec alone, cold (no cache) and warm (collected again), each
  as a multiple of libyaml's ``CSafeLoader`` parse of the same file.

Not a test: no number here is asserted anywhere. docs/performance.md has the
figures and the machine they were measured on.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from importlib.util import find_spec
from pathlib import Path

import yaml

X = [
    [0.6896, 0.3966, 0.2412, 0.5902],
    [0.0767, 0.2957, 0.2829, 0.3379],
    [0.1813, 0.3087, 0.8247, 0.9677],
]
Y = [row[0] + row[1] ** 2 for row in X]
G1 = [[1.0, 2 * row[1], 0.0, 0.0] for row in X]
G2 = [[0.0, 2.0, 0.0, 0.0] for _ in X]

CASE = """\
  - id: second-order-partials-{i}
    description: For y = x[:, 0] + x[:, 1] ** 2 the gradient has 1 and 2 x1; its own, 0 and 2.
    kind: math
    inputs:
      x: {{value: {x}, requires_grad: true}}
    steps: |
      y = x[:, 0] + x[:, 1] ** 2
      g1 = grad(y, x, grad_outputs=ones_like(y), create_graph=True)[0]
      g2 = grad(g1, x, grad_outputs=ones_like(g1))[0]
    expect:
      y: {{value: {y}, atol: 1.0e-4, grad_fn: true}}
      g1: {{value: {g1}, atol: 1.0e-4, grad_fn: true}}
      g2: {{value: {g2}, grad_fn: false}}
"""

HAND_WRITTEN = """\
import numpy as np
import pytest
import torch

X = np.array({x}, dtype=np.float32)
Y = np.array({y})
G1 = np.array({g1})
G2 = np.array({g2})


def close(got, expected, atol, rtol=1.3e-6):
    np.testing.assert_array_less(np.abs(got - expected), atol + rtol * np.abs(expected) + 1e-30)


@pytest.mark.parametrize("i", range({n}))
def test_second_order_partials(i):
    x = torch.from_numpy(X.copy()).requires_grad_(True)
    y = x[:, 0] + x[:, 1] ** 2
    g1 = torch.autograd.grad(y, x, grad_outputs=torch.ones_like(y), create_graph=True)[0]
    g2 = torch.autograd.grad(g1, x, grad_outputs=torch.ones_like(g1))[0]
    close(y.detach().numpy(), Y, 1e-4)
    close(g1.detach().numpy(), G1, 1e-4)
    close(g2.detach().numpy(), G2, 1e-5)
    assert y.grad_fn is not None
    assert g1.grad_fn is not None
    assert g2.grad_fn is None
"""


def write(folder: Path, n: int, files: int = 1) -> tuple[list[Path], Path]:
    spec = folder / "spec" / "bench"
    spec.mkdir(parents=True)
    values = {"x": X, "y": Y, "g1": G1, "g2": G2}
    case_files = []
    per_file = n // files
    for index in range(files):
        first = index * per_file
        body = "".join(CASE.format(i=i, **values) for i in range(first, first + per_file))
        case_file = spec / f"second-order-{index}.yaml"
        case_file.write_text(f'schema_version: "1.0"\ncases:\n{body}', encoding="utf-8")
        case_files.append(case_file)
    test_file = folder / "hand" / "test_hand_written.py"
    test_file.parent.mkdir()
    test_file.write_text(textwrap.dedent(HAND_WRITTEN.format(n=n, **values)), encoding="utf-8")
    return case_files, test_file


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed


def parse_time(path: Path, repeat: int = 5) -> float:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = path.read_text(encoding="utf-8")
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        yaml.load(text, Loader=loader)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--files", type=int, default=1, help="split the cases over this many files")
    parser.add_argument("--collect-only", action="store_true", help="measure loading only")
    args = parser.parse_args()
    python = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        case_files, _ = write(folder, args.cases, args.files)
        plugin = [*python, "--autograd-backend=torch", "--autograd-cases=spec", "-k", "bench"]
        hand = [*python, "hand"]
        if not args.collect_only:
            timed(plugin, folder)  # fills pytest's cache folder: later plugin runs are warm
        cold_ratios, warm_ratios = [], []
        for pair in range(0 if args.collect_only else args.pairs):
            cold = timed([*plugin, "-p", "no:cacheprovider"], folder)
            warm = timed(plugin, folder)
            by_hand = timed(hand, folder)
            cold_ratios.append(cold / by_hand)
            warm_ratios.append(warm / by_hand)
            print(
                f"run {pair + 1}: plugin {warm:.2f} s (cache warm), {cold:.2f} s (no cache);"
                f" hand-written {by_hand:.2f} s; ratios {warm / by_hand:.2f}, {cold / by_hand:.2f}"
            )
        if warm_ratios:
            print(
                f"run ratio (median of {args.pairs}): {statistics.median(warm_ratios):.2f} with"
                f" the cache warm, {statistics.median(cold_ratios):.2f} without a cache"
            )

        parse = sum(parse_time(case_file) for case_file in case_files)
        # A difference of two collections: plugins that cost the same in both (and whose
        # import time varies run to run, as hypothesis's does) only add noise to it.
        quiet = ["-p", "no:hypothesispytest"] if find_spec("hypothesis") else []
        collect = [*python, *quiet, "--autograd-backend=torch", "--collect-only"]
        no_cache = ["-p", "no:cacheprovider"]
        spec = ["--autograd-cases=spec"]
        cold_base = min(timed([*collect, *no_cache], folder) for _ in range(5))
        cold = min(timed([*collect, *spec, *no_cache], folder) for _ in range(5))
        timed([*collect, *spec], folder)  # fills the cache
        warm_base = min(timed(collect, folder) for _ in range(5))
        warm = min(timed([*collect, *spec], folder) for _ in range(5))
        print(f"libyaml parse of the {args.cases} cases: {parse * 1e3:.0f} ms")
        for label, seconds, baseline in (("cold", cold, cold_base), ("warm", warm, warm_base)):
            added = seconds - baseline
            print(
                f"collect {label}: {added * 1e3:.0f} ms beyond the bundled spec alone,"
                f" {added / parse:.2f} times the parse"
            )


if __name__ == "__main__":
    main()
