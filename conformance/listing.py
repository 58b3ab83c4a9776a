"""``python -m conformance backends``: the adapters this installation knows.

Built-in adapters and those that installed packages register under the
``pytest_autograd_spec.backends`` entry-point group, each with its engine's
version and declared capabilities, so a vendor sees at once whether their
package is picked up and what the suite will ask of it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field

from conformance.backend import Backend
from conformance.capabilities import CAPABILITIES
from conformance.errors import BackendConfigError, CaseFileError
from conformance.loader import bundled_cases_dir, iter_case_paths, load_case_file
from conformance.model import Case
from conformance.registry import BUILTIN_BACKENDS, create_backend, known_backends
from conformance.runner import Outcome, RunOptions, run_case


@dataclass
class BackendInfo:
    name: str
    target: str  # module:Class
    source: str  # "built-in" or "entry point"
    version: str = ""
    capabilities: list[str] = field(default_factory=list)
    problem: str = ""  # why it cannot be loaded here, if it cannot


def describe_backends(device: str = "cpu") -> list[BackendInfo]:
    """Resolve and construct every known adapter; one that fails says why instead."""
    infos = []
    for name, target in sorted(known_backends().items()):
        source = "built-in" if name in BUILTIN_BACKENDS else "entry point"
        info = BackendInfo(name, target, source)
        try:
            backend = create_backend(name, device)
        except BackendConfigError as exc:
            info.problem = str(exc)
        else:
            info.version = str(backend.version)
            info.capabilities = sorted(backend.capabilities)
        infos.append(info)
    return infos


def format_backends(infos: list[BackendInfo]) -> str:
    lines = []
    for info in infos:
        lines.append(f"{info.name}  ({info.source}: {info.target})")
        if info.problem:
            lines.append(f"  unavailable: {info.problem}")
            continue
        lines.append(f"  version: {info.version}")
        lacking = [c for c in CAPABILITIES if c not in info.capabilities]
        lines.append(f"  capabilities: {', '.join(info.capabilities) or '(none)'}")
        if lacking:
            lines.append(f"  lacks: {', '.join(lacking)}")
    return "\n".join(lines)


def bundled_cases() -> list[Case]:
    cases: list[Case] = []
    root = bundled_cases_dir()
    for path in iter_case_paths(root):
        display = f"cases/{path.relative_to(root).as_posix()}"
        try:
            cases.extend(load_case_file(path, display=display, topic=path.parent.name).cases)
        except CaseFileError:
            continue  # `validate` reports broken files; a claim is checked on the others
    return cases


def check_claims(backend: Backend, cases: list[Case]) -> list[str]:
    """Check each capability the adapter says it lacks, on one case that needs just that one.

    The case is run as if the capability were declared. The adapter must then
    raise NotSupportedError (the case is skipped), or not be asked at all (the
    case passes); a failure means the claim hides a broken method instead.
    """
    problems = []
    lacking = [c for c in CAPABILITIES if c not in backend.capabilities]
    for capability in lacking:
        case = next(
            (c for c in cases if c.capabilities - backend.capabilities == {capability}), None
        )
        if case is None:
            continue
        declared = backend.capabilities | {capability}
        claiming: Backend = type(
            type(backend).__name__, (type(backend),), {"capabilities": declared}
        )(device=backend.device)
        verdict = run_case(case, claiming, RunOptions())
        if verdict.outcome is Outcome.FAILED:
            first = verdict.mismatches[0] if verdict.mismatches else "no detail"
            problems.append(
                f"{backend.name} declares it lacks {capability!r}, but {case.location}"
                f" ({case.id}) run on it failed instead of raising NotSupportedError: {first}"
            )
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cpu", help="device to construct adapters on")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--check-claims",
        metavar="BACKEND",
        help="run one case per capability the backend lacks: it must raise NotSupportedError",
    )


def _check(spec: str, device: str) -> int:
    try:
        backend = create_backend(spec, device)
    except BackendConfigError as exc:
        print(f"backends: {exc}", file=sys.stderr)
        return 2
    problems = check_claims(backend, bundled_cases())
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{backend.name}: every capability it declares missing raises NotSupportedError")
    return 1 if problems else 0


def run(args: argparse.Namespace) -> int:
    if args.check_claims:
        return _check(args.check_claims, args.device)
    infos = describe_backends(args.device)
    if args.json:
        json.dump([asdict(info) for info in infos], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_backends(infos) or "no backends known")
    return 0
