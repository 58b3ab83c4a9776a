"""Find a backend adapter by name: built-in, entry point, or ``module:Class``."""

from __future__ import annotations

import difflib
import importlib
import traceback
from importlib.metadata import entry_points

from conformance.backend import Backend, check_capabilities
from conformance.errors import BackendConfigError

ENTRY_POINT_GROUP = "pytest_autograd_spec.backends"

BUILTIN_BACKENDS: dict[str, str] = {
    "torch": "conformance.adapters.torch_backend:TorchBackend",
}


def _entry_point_backends() -> dict[str, str]:
    return {point.name: point.value for point in entry_points(group=ENTRY_POINT_GROUP)}


def known_backends() -> dict[str, str]:
    """Every name --autograd-backend accepts, and the class each names."""
    return {**_entry_point_backends(), **BUILTIN_BACKENDS}


def _import(target: str, shown: str) -> type[Backend]:
    module_name, _, class_name = target.partition(":")
    if not class_name:
        raise BackendConfigError(f"backend {shown!r}: expected 'module:Class'")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:  # the adapter's own file: say where, as Python would
        where = f"{exc.filename}:{exc.lineno}" if exc.filename else module_name
        raise BackendConfigError(f"backend {shown!r}: {where}: SyntaxError: {exc.msg}") from None
    except Exception as exc:  # ImportError, or anything the module raised while it ran
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
        raise BackendConfigError(
            f"backend {shown!r}: cannot import {module_name!r}: {type(exc).__name__}: {exc}{where}"
        ) from None
    if not hasattr(module, class_name):
        classes = sorted(
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, Backend) and value is not Backend
        )
        close = difflib.get_close_matches(class_name, classes, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        found = f" (adapters there: {', '.join(classes)})" if classes and not close else ""
        raise BackendConfigError(
            f"backend {shown!r}: {module_name!r} has no {class_name!r}{hint}{found}"
        )
    backend = getattr(module, class_name)
    if not (isinstance(backend, type) and issubclass(backend, Backend)):
        raise BackendConfigError(
            f"backend {shown!r}: {class_name!r} in {module_name!r}"
            " is not a subclass of conformance.backend.Backend"
        )
    try:
        check_capabilities(backend)
    except ValueError as exc:
        raise BackendConfigError(str(exc)) from None
    return backend


def resolve_backend(spec: str) -> type[Backend]:
    """The adapter class a --autograd-backend value names."""
    known = known_backends()
    if spec in known:
        return _import(known[spec], spec)
    if ":" in spec:
        return _import(spec, spec)
    names = ", ".join(sorted(known)) or "(none)"
    raise BackendConfigError(
        f"unknown autograd backend {spec!r}; known backends: {names}; or give a 'module:Class' path"
    )


def create_backend(spec: str, device: str) -> Backend:
    """Resolve and construct an adapter; construction errors are usage errors."""
    return instantiate_backend(resolve_backend(spec), spec, device)


def instantiate_backend(backend_class: type[Backend], spec: str, device: str) -> Backend:
    """Construct a resolved adapter on a device (where a missing device shows)."""
    try:
        return backend_class(device=device)
    except Exception as exc:
        raise BackendConfigError(
            f"backend {spec!r} on device {device!r}: {type(exc).__name__}: {exc}"
        ) from None
