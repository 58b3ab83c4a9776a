"""What the plugin knows for one pytest session, kept in the config's stash."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from conformance.backend import Backend
from conformance.cache import CaseCache
from conformance.knownfail import KnownList
from conformance.runner import RunOptions


@dataclass
class SpecSession:
    backend: Backend
    backend_spec: str
    options: RunOptions
    roots: list[tuple[Path, str]]  # (folder or file, the prefix shown in item names)
    xfails: list[KnownList] = field(default_factory=list)
    skips: list[KnownList] = field(default_factory=list)
    report_path: Path | None = None
    #: Where the timeout's backstop writes tracebacks before it ends the process.
    timeout_dump: IO[str] | None = None
    #: Loaded case files kept in pytest's cache folder (None with -p no:cacheprovider).
    cache: CaseCache | None = None


SPEC_KEY = pytest.StashKey[SpecSession]()


def spec_of(config: pytest.Config) -> SpecSession | None:
    return config.stash.get(SPEC_KEY, None)


def marker_name(prefix: str, name: str) -> str:
    return f"{prefix}_{name.replace('-', '_').replace('.', '_')}"
