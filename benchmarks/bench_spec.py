"""How long loading and running the spec take, run by hand.

    python benchmarks/bench_spec.py [--backend torch] [--repeat 3]

Prints the time to load and compile every bundled case file, and to run every
case on a backend, as the best of several repeats (the spec is small; the
best run is the least disturbed by the rest of the machine). Not a test: no
number here is asserted anywhere.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from conformance.loader import bundled_cases_dir, iter_case_paths, load_case_file
from conformance.model import Case
from conformance.registry import create_backend
from conformance.runner import Outcome, RunOptions, run_case


def load_all() -> list[Case]:
    root = bundled_cases_dir()
    cases: list[Case] = []
    for path in iter_case_paths(root):
        cases.extend(load_case_file(path, display=path.relative_to(root).as_posix()).cases)
    return cases


def best_of(repeat: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    load_time = best_of(args.repeat, load_all)
    cases = load_all()
    backend = create_backend(args.backend, "cpu")
    options = RunOptions(strict=True)
    counts: dict[str, int] = {}

    def run_all() -> None:
        counts.clear()
        for case in cases:
            outcome = run_case(case, backend, options).outcome
            counts[outcome.value] = counts.get(outcome.value, 0) + 1

    run_time = best_of(args.repeat, run_all)
    print(f"cases: {len(cases)}")
    per_case = load_time / len(cases) * 1e3
    print(f"load and compile: {load_time * 1e3:.1f} ms ({per_case:.2f} ms/case)")
    print(
        f"run on {args.backend} (strict): {run_time * 1e3:.1f} ms"
        f" ({run_time / len(cases) * 1e3:.2f} ms/case); outcomes {counts}"
    )
    if counts.get(Outcome.FAILED.value):
        print("note: some cases failed; timings include their failure reports")


if __name__ == "__main__":
    main()
