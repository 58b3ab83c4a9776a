"""The pytest glue: options, collection of cases as items, skips, markers, summary.

Without ``--autograd-backend`` (or the ``autograd_backend`` ini option) this
plugin adds nothing and changes nothing, so installing it never disturbs
another test suite. With a backend, the session runs the spec: the bundled
cases plus any ``--autograd-cases``; test files are collected only when named
on the command line. Everything that does not need pytest lives in
``conformance``; the modules here only translate between the two.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from conformance import SCHEMA_VERSION
from conformance.backend import Backend, engine_version
from conformance.cache import CaseCache
from conformance.capabilities import CAPABILITIES
from conformance.errors import BackendConfigError, CaseFileError
from conformance.knownfail import KnownList, KnownListError, load_known_list
from conformance.loader import bundled_cases_dir, iter_case_paths
from conformance.model import KINDS
from conformance.registry import instantiate_backend, resolve_backend
from conformance.runner import RunOptions
from pytest_autograd_spec.items import CaseFailure, CaseFileCollector, CaseFileErrorItem, CaseItem
from pytest_autograd_spec.reporter import (
    FILE_ERROR_ATTRIBUTE,
    REPORT_ATTRIBUTE,
    AutogradSpecWarning,
    SpecReporter,
)
from pytest_autograd_spec.state import SPEC_KEY, SpecSession, marker_name, spec_of

DTYPES = ("float32", "float64")

__all__ = [
    "DTYPES",
    "SPEC_KEY",
    "AutogradSpecWarning",
    "CaseFailure",
    "CaseFileCollector",
    "CaseFileErrorItem",
    "CaseItem",
    "SpecSession",
]


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
        (
            "report",
            "autograd_report",
            "write a JSON report of the run to this path (see docs/reports.md)",
            None,
        ),
        (
            "timeout",
            "autograd_timeout",
            "seconds a case may run; a case past it fails as timed out and the run goes on"
            " (default: no limit)",
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
        help="also check torch details: exception types and messages, grad_fn names,"
        " torch-detail cases (the default for backends that promise them, such as torch)",
    )
    group.addoption(
        "--autograd-portable",
        dest="autograd_strict",
        action="store_false",
        help="check only the portable spec, even on a backend that promises torch details",
    )
    parser.addini(
        "autograd_strict",
        "true: check torch details; false: the portable spec only; unset: the backend's default",
        type="bool",
        default=None,
    )
    repeatable = [
        ("cases", "extra case files or folders, run besides the bundled spec"),
        ("xfails", "known-failure list: listed cases are xfail, strict (see docs/ci.md)"),
        ("skips", "skip list: listed cases are not run (see docs/ci.md)"),
    ]
    for flag, help_text in repeatable:
        group.addoption(
            f"--autograd-{flag}",
            dest=f"autograd_{flag}",
            action="append",
            default=[],
            metavar="PATH",
            help=f"{help_text} (repeatable)",
        )
        parser.addini(f"autograd_{flag}", f"{help_text} (one per line)", type="paths", default=[])


def _setting(config: pytest.Config, name: str, default: str | None = None) -> str | None:
    value = config.getoption(name)
    if value is None:
        value = config.getini(name) or None
    return value if value is not None else default


def _paths(config: pytest.Config, name: str) -> list[Path]:
    """Command-line paths (relative to the invocation folder) then ini paths (to the ini file)."""
    invocation = config.invocation_params.dir
    given = [Path(p) for p in config.getoption(name)]
    return [p if p.is_absolute() else invocation / p for p in given] + list(config.getini(name))


def _display(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def _known_lists(config: pytest.Config, name: str, flag: str) -> list[KnownList]:
    lists = []
    for path in _paths(config, name):
        try:
            lists.append(load_known_list(path, _display(path, config.invocation_params.dir)))
        except KnownListError as exc:
            raise pytest.UsageError(f"{flag}: {exc}") from None
    return lists


def _create_backend(spec: str, device: str) -> Backend:
    try:
        backend_class = resolve_backend(spec)
    except BackendConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        return instantiate_backend(backend_class, spec, device)
    except BackendConfigError as exc:
        if device != "cpu":
            raise pytest.UsageError(
                f"--autograd-device={device}: backend {spec!r} cannot run on device {device!r}"
                f" here ({exc}); pick a device this machine has, e.g. --autograd-device=cpu"
            ) from None
        raise pytest.UsageError(str(exc)) from None


def _timeout(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise pytest.UsageError(
            f"--autograd-timeout must be a positive number of seconds, not {text!r}"
        )
    return seconds


def _strictness(config: pytest.Config, backend: Backend) -> bool:
    """The command line wins, then the ini file, then what the backend promises."""
    option = config.getoption("autograd_strict")
    if option is not None:
        return bool(option)
    ini = config.getini("autograd_strict")
    if ini is not None:
        return bool(ini)
    return bool(backend.torch_details)


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
    backend = _create_backend(spec, device)
    strict = _strictness(config, backend)
    if dtype == "float64" and "float64" not in backend.capabilities:
        raise pytest.UsageError(
            f"--autograd-dtype=float64: backend {backend.name!r} does not declare the float64"
            " capability"
        )
    roots: list[tuple[Path, str]] = [(bundled_cases_dir(), "cases")]
    invocation = config.invocation_params.dir
    for full in _paths(config, "autograd_cases"):
        if not full.exists():
            raise pytest.UsageError(f"--autograd-cases: {full} does not exist")
        roots.append((full.resolve(), _display(full.resolve(), invocation)))
    report = _setting(config, "autograd_report")
    timeout = _timeout(_setting(config, "autograd_timeout"))
    session = SpecSession(
        backend,
        spec,
        RunOptions(dtype=dtype, strict=strict, timeout=timeout),
        roots,
        xfails=_known_lists(config, "autograd_xfails", "--autograd-xfails"),
        skips=_known_lists(config, "autograd_skips", "--autograd-skips"),
        report_path=None if report is None else invocation / report,
    )
    if getattr(config, "cache", None) is not None:
        session.cache = CaseCache(config.cache.mkdir("autograd-spec"))
    config.stash[SPEC_KEY] = session
    config.pluginmanager.register(SpecReporter(session, config), "autograd-spec-reporter")
    for capability, text in CAPABILITIES.items():
        config.addinivalue_line(
            "markers", f"{marker_name('cap', capability)}: autograd cases needing {text}"
        )
    for kind in KINDS:
        config.addinivalue_line(
            "markers", f"{marker_name('kind', kind)}: autograd cases of kind {kind}"
        )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With a backend, collect test files only when they are named on the command line."""
    if spec_of(config) is None or config.args_source == pytest.Config.ArgsSource.ARGS:
        return None
    return True


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Hang the case files under the session, beside whatever pytest collected itself."""
    report = yield
    spec = spec_of(collector.config)
    if spec is not None and isinstance(collector, pytest.Session) and report.passed:
        for root, prefix in spec.roots:
            for path in iter_case_paths(root):
                display = (
                    prefix if path == root else f"{prefix}/{path.relative_to(root).as_posix()}"
                )
                report.result.append(
                    CaseFileCollector.from_parent(collector, path=path, nodeid=display)
                )
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the case's data to each of its reports: plain JSON, carried by pytest-xdist."""
    report = yield
    if isinstance(item, CaseItem):
        setattr(report, REPORT_ATTRIBUTE, item.payload())
    elif isinstance(item, CaseFileErrorItem):
        setattr(report, FILE_ERROR_ATTRIBUTE, str(item.error))
        if call.excinfo is not None and isinstance(call.excinfo.value, CaseFileError):
            # pytest shows a setup error with its traceback; the located message is the whole story.
            report.longrepr = item.repr_failure(call.excinfo)
    return report


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    spec = spec_of(config)
    if spec is None:
        return None
    backend = spec.backend
    lines = [
        f"autograd-spec: backend {backend.name} {engine_version(backend)}"
        f" ({spec.backend_spec}), device {backend.device}, dtype {spec.options.dtype},"
        f" strict {'on' if spec.options.strict else 'off'}, schema {SCHEMA_VERSION}",
        f"autograd-spec: capabilities {', '.join(sorted(backend.capabilities)) or '(none)'}",
    ]
    if backend.conventions:
        followed = ", ".join(f"{k}={v}" for k, v in sorted(backend.conventions.items()))
        lines.append(f"autograd-spec: conventions {followed} (cases pinning others are skipped)")
    for label, lists in (("known failures", spec.xfails), ("skips", spec.skips)):
        for known in lists:
            lines.append(f"autograd-spec: {label} {known.path} ({len(known.entries)} entries)")
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        lines.append(
            "autograd-spec: the spec only: test files are collected when named on the"
            " command line (e.g. pytest tests/)"
        )
    if spec.options.timeout is not None:
        lines.append(f"autograd-spec: timeout {spec.options.timeout:g} s per case")
    if spec.report_path is not None:
        lines.append(f"autograd-spec: report {spec.report_path}")
    return lines
