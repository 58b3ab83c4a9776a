"""The pytest glue: options, collection of cases as items, skips, markers, summary.

Without ``--autograd-backend`` (or the ``autograd_backend`` ini option) this
plugin adds nothing and changes nothing, so installing it never disturbs
another test suite. With a backend, the session runs the spec: the bundled
cases plus any ``--autograd-cases``; test files are collected only when named
on the command line.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance import SCHEMA_VERSION
from conformance.backend import Backend
from conformance.capabilities import CAPABILITIES
from conformance.errors import BackendConfigError, CaseFileError
from conformance.loader import bundled_cases_dir, iter_case_paths, load_case_file
from conformance.model import KINDS, Case
from conformance.runner import Outcome, RunOptions, Verdict, run_case, skip_reason

DTYPES = ("float32", "float64")


@dataclass
class SpecSession:
    """What the plugin knows for one pytest session."""

    backend: Backend
    backend_spec: str
    options: RunOptions
    roots: list[tuple[Path, str]]  # (folder or file, the prefix shown in item names)
    outcomes: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)


SPEC_KEY = pytest.StashKey[SpecSession]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograd-spec", "autograd conformance spec")
    options: list[tuple[str, str, str, Any]] = [
        (
            "backend",
            "autograd_backend",
            "the backend to run the spec on: a built-in name (torch), an "
            "entry-point name, or module:Class",
            None,
        ),
        ("device", "autograd_device", "the device to run on (default: cpu)", None),
        (
            "dtype",
            "autograd_dtype",
            f"floating dtype of inputs not pinned by a case: {', '.join(DTYPES)}"
            " (default: float32)",
            None,
        ),
    ]
    for flag, ini, help_text, default in options:
        group.addoption(f"--autograd-{flag}", dest=ini, default=default, help=help_text)
        parser.addini(ini, help_text)
    group.addoption(
        "--autograd-strict",
        dest="autograd_strict",
        action="store_true",
        default=None,
        help="also check torch details: exception types and messages, grad_fn names, torch-detail cases",
    )
    parser.addini(
        "autograd_strict", "check torch details (see --autograd-strict)", type="bool", default=False
    )
    group.addoption(
        "--autograd-cases",
        dest="autograd_cases",
        action="append",
        default=[],
        metavar="PATH",
        help="extra case files or folders, run besides the bundled spec (repeatable)",
    )
    parser.addini(
        "autograd_cases", "extra case files or folders (one per line)", type="paths", default=[]
    )


def _setting(config: pytest.Config, name: str, default: str | None = None) -> str | None:
    value = config.getoption(name)
    if value is None:
        value = config.getini(name) or None
    return value if value is not None else default


def pytest_configure(config: pytest.Config) -> None:
    spec = _setting(config, "autograd_backend")
    if not spec:
        return
    device = _setting(config, "autograd_device", "cpu") or "cpu"
    dtype = _setting(config, "autograd_dtype", "float32") or "float32"
    if dtype not in DTYPES:
        raise pytest.UsageError(
            f"--autograd-dtype must be one of {', '.join(DTYPES)}, not {dtype!r}"
        )
    strict_option = config.getoption("autograd_strict")
    strict = (
        bool(config.getini("autograd_strict")) if strict_option is None else bool(strict_option)
    )
    try:
        from conformance.registry import create_backend

        backend = create_backend(spec, device)
    except BackendConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    roots: list[tuple[Path, str]] = [(bundled_cases_dir(), "cases")]
    invocation = config.invocation_params.dir
    extra = [Path(p) for p in config.getoption("autograd_cases")] + list(
        config.getini("autograd_cases")
    )
    for path in extra:
        full = path if path.is_absolute() else invocation / path
        if not full.exists():
            raise pytest.UsageError(f"--autograd-cases: {path} does not exist")
        roots.append((full.resolve(), _display(full.resolve(), invocation)))
    session = SpecSession(backend, spec, RunOptions(dtype=dtype, strict=strict), roots)
    config.stash[SPEC_KEY] = session
    config.pluginmanager.register(SpecReporter(session), "autograd-spec-reporter")
    for capability, text in CAPABILITIES.items():
        config.addinivalue_line(
            "markers", f"{_marker('cap', capability)}: autograd cases needing {text}"
        )
    for kind in KINDS:
        config.addinivalue_line(
            "markers", f"{_marker('kind', kind)}: autograd cases of kind {kind}"
        )


def _display(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def _marker(prefix: str, name: str) -> str:
    return f"{prefix}_{name.replace('-', '_').replace('.', '_')}"


def _spec(config: pytest.Config) -> SpecSession | None:
    return config.stash.get(SPEC_KEY, None)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With a backend, collect test files only when they are named on the command line."""
    if _spec(config) is None or config.args_source == pytest.Config.ArgsSource.ARGS:
        return None
    return True


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """Hang the case files under the session, beside whatever pytest collected itself."""
    report: pytest.CollectReport = yield  # type: ignore[misc]
    spec = _spec(collector.config)
    if spec is not None and isinstance(collector, pytest.Session) and report.passed:
        for root, prefix in spec.roots:
            for path in iter_case_paths(root):
                display = (
                    prefix if path == root else f"{prefix}/{path.relative_to(root).as_posix()}"
                )
                report.result.append(
                    CaseFileCollector.from_parent(collector, path=path, nodeid=display)
                )
    return report  # type: ignore[return-value]


class CaseFileCollector(pytest.File):
    """One YAML case file; a file that fails to load becomes one error item."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            case_file = load_case_file(self.path, display=self.nodeid, topic=self.path.parent.name)
        except CaseFileError as exc:
            yield CaseFileErrorItem.from_parent(self, name="load", error=exc)
            return
        self.config.addinivalue_line(
            "markers",
            f"{_marker('topic', case_file.topic)}: autograd cases of topic {case_file.topic}",
        )
        for case in case_file.cases:
            item = CaseItem.from_parent(self, name=case.id, case=case)
            item.add_marker(_marker("topic", case.topic))
            item.add_marker(_marker("kind", case.kind))
            for capability in sorted(case.capabilities):
                item.add_marker(_marker("cap", capability))
            yield item


class CaseFailure(Exception):
    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict


class CaseItem(pytest.Item):
    """One case, run on the session's backend."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.verdict: Verdict | None = None

    def setup(self) -> None:
        spec = _spec(self.config)
        assert spec is not None
        reason = skip_reason(self.case, spec.backend, spec.options)
        if reason:
            pytest.skip(reason)

    def runtest(self) -> None:
        spec = _spec(self.config)
        assert spec is not None
        self.verdict = run_case(self.case, spec.backend, spec.options)
        if self.verdict.outcome is Outcome.SKIPPED:
            pytest.skip(self.verdict.reason)
        if self.verdict.outcome is Outcome.FAILED:
            raise CaseFailure(self.verdict)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailure):
            spec = _spec(self.config)
            backend = spec.backend.name if spec else "the backend"
            case = self.case
            lines = [
                f"{case.location}: case {case.id!r} ({case.kind}) does not hold on {backend}",
                f"  rule: {case.description}",
            ]
            for mismatch in excinfo.value.verdict.mismatches:
                where = f"{case.path}:{mismatch.line}: " if mismatch.line else ""
                lines.append(f"  - {where}{mismatch.variable}: {mismatch.message}")
            return "\n".join(lines)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"{self.case.topic}: {self.case.id}"


class CaseFileErrorItem(pytest.Item):
    """Stands for a case file that cannot be loaded: one error, the other files still run."""

    def __init__(self, *, error: CaseFileError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def setup(self) -> None:
        raise self.error

    def runtest(self) -> None:  # pragma: no cover - setup always raises
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFileError):
            return f"invalid case file: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.error.location.line - 1, 0), "invalid case file"


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    spec = _spec(config)
    if spec is None:
        return None
    backend = spec.backend
    return [
        f"autograd-spec: backend {backend.name} {backend.version} ({spec.backend_spec}), device {backend.device},"
        f" dtype {spec.options.dtype}, strict {'on' if spec.options.strict else 'off'}, schema {SCHEMA_VERSION}",
        f"autograd-spec: capabilities {', '.join(sorted(backend.capabilities)) or '(none)'}",
    ]


class SpecReporter:
    """Per-session hooks: outcome tallies by capability and the closing summary."""

    def __init__(self, spec: SpecSession) -> None:
        self.spec = spec
        self.capabilities: dict[str, frozenset[str]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if isinstance(item, CaseItem):
                self.capabilities[item.nodeid] = item.case.capabilities

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.capabilities:
            return
        if report.when == "call" or report.outcome != "passed":
            self.spec.outcomes[report.nodeid] = (report.outcome, self.capabilities[report.nodeid])

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.spec.outcomes:
            return
        table: dict[str, Counter[str]] = defaultdict(Counter)
        for outcome, capabilities in self.spec.outcomes.values():
            for capability in capabilities or frozenset({"(none)"}):
                table[capability][outcome] += 1
        terminalreporter.section("autograd conformance by capability")
        terminalreporter.write_line(
            f"{'capability':<20} {'passed':>7} {'failed':>7} {'skipped':>8}"
        )
        for capability in sorted(table):
            counts = table[capability]
            terminalreporter.write_line(
                f"{capability:<20} {counts['passed']:>7} {counts['failed']:>7} {counts['skipped']:>8}"
            )
