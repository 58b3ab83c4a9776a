"""``python -m conformance validate [PATHS]``: check case files before they are accepted.

Each file is loaded (YAML, schema, step language); then every expectation of
every case is put to the numerical oracle. A value the oracle contradicts
fails, located by file, line, case, variable and element. What the oracle
cannot judge is listed with the reason (the case's own ``oracle`` note for
convention and semantics cases). A math case's values must be judged: one the
oracle cannot evaluate fails too. Exit status 0 only when every file loads and
nothing fails.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from conformance.errors import CaseFileError
from conformance.loader import bundled_cases_dir, iter_case_paths, load_case_file
from conformance.oracle import TOLERANCE_RULE, Finding, Status, judge_case

_FAILING = (Status.CONTRADICTED, Status.UNJUDGED_MATH)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="case files or folders (default: the bundled spec)",
    )
    detail = parser.add_mutually_exclusive_group()
    detail.add_argument(
        "-q", "--quiet", action="store_true", help="list only failures, not what is not judged"
    )
    detail.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also list every checked expectation with the tolerance used",
    )


def _display(path: Path, base: Path | None) -> str:
    resolved = path.resolve()
    for root in (Path.cwd(), base):
        if root is None:
            continue
        try:
            return resolved.relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def _files(paths: list[Path]) -> Iterable[tuple[Path, str]]:
    if not paths:
        root = bundled_cases_dir()
        for path in iter_case_paths(root):
            yield path, _display(path, root.parent)
        return
    for given in paths:
        if not given.exists():
            raise FileNotFoundError(given)
        for path in iter_case_paths(given):
            yield path, _display(path, None)


def _mark(status: Status) -> str:
    return {
        Status.CHECKED: "checked",
        Status.NOT_JUDGED: "not judged",
        Status.CONTRADICTED: "CONTRADICTED",
        Status.UNJUDGED_MATH: "FAILED (a math case's value the oracle cannot judge)",
    }[status]


def validate(paths: list[Path], out: TextIO, quiet: bool = False, verbose: bool = False) -> int:
    """Validate the files under ``paths``; write the report to ``out``; return the exit status."""
    totals: Counter[Status] = Counter()
    cases = files = broken = 0
    print(f"validate: tolerance: {TOLERANCE_RULE}", file=out)
    try:
        found = list(_files(paths))
    except FileNotFoundError as exc:
        print(f"validate: no such file or folder: {exc}", file=out)
        return 2
    for path, display in found:
        files += 1
        try:
            case_file = load_case_file(path, display=display)
        except CaseFileError as exc:
            broken += 1
            print(f"{display}: FAILED to load\n  {exc}", file=out)
            continue
        findings: list[Finding] = []
        crashed: list[str] = []
        for case in case_file.cases:
            cases += 1
            try:
                findings.extend(judge_case(case))
            except Exception as exc:  # an oracle fault must not hide the other cases
                crashed.append(f"{case.location}: case {case.id!r}: the oracle failed: {exc!r}")
        counts = Counter(finding.status for finding in findings)
        totals.update(counts)
        broken += len(crashed)
        print(
            f"{display}: {len(case_file.cases)} cases, {counts[Status.CHECKED]} checked,"
            f" {counts[Status.NOT_JUDGED] + counts[Status.UNJUDGED_MATH]} not judged,"
            f" {counts[Status.CONTRADICTED]} contradicted",
            file=out,
        )
        for line in crashed:
            print(f"  FAILED: {line}", file=out)
        for finding in findings:
            if finding.status is Status.CHECKED and not verbose:
                continue
            if finding.status is Status.NOT_JUDGED and quiet:
                continue
            print(f"  {_mark(finding.status)}: {finding}", file=out)
    not_judged = totals[Status.NOT_JUDGED] + totals[Status.UNJUDGED_MATH]
    summary = (
        f"validate: {files} files, {cases} cases, {totals[Status.CHECKED]} expectations checked"
        f" by the oracle, {not_judged} not judged (reasons listed),"
        f" {totals[Status.CONTRADICTED]} contradicted"
    )
    if totals[Status.UNJUDGED_MATH]:
        summary += f", {totals[Status.UNJUDGED_MATH]} math values the oracle cannot judge"
    if broken:
        summary += f", {broken} files or cases failed to load or evaluate"
    print(summary, file=out)
    failed = broken or any(totals[status] for status in _FAILING)
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    return validate(list(args.paths), sys.stdout, quiet=args.quiet, verbose=args.verbose)


__all__ = ["add_arguments", "run", "validate"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(validate([Path(arg) for arg in sys.argv[1:]], sys.stdout))
