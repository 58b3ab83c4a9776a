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

from conformance.capabilities import CAPABILITIES
from conformance.claims import check_claims, format_claims
from conformance.errors import BackendConfigError, CaseFileError
from conformance.loader import bundled_cases_dir, iter_case_paths, load_case_file
from conformance.model import Case
from conformance.registry import BUILTIN_BACKENDS, create_backend, known_backends


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cpu", help="device to construct adapters on")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--check-claims",
        metavar="BACKEND",
        help="run every case needing only a capability the backend declares missing, with it"
        " declared: a call that answers for it and a case that then fails contradict the claim",
    )


def _check(spec: str, device: str) -> int:
    try:
        backend = create_backend(spec, device)
    except BackendConfigError as exc:
        print(f"backends: {exc}", file=sys.stderr)
        return 2
    checks = check_claims(backend, bundled_cases())
    for line in format_claims(backend, checks):
        print(line)
    return 1 if any(check.status == "accused" for check in checks) else 0


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
