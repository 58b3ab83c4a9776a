"""Compiled case files, kept by content, so an unchanged spec is not parsed and checked again.

Loading a case file (YAML, the schema, the step language) costs many times
what running its cases costs. The plugin keeps each loaded file in pytest's
cache folder, under a key made of everything the result depends on: the
file's bytes, how it is shown and its topic, this package's version, the
schema's version and the limits in force. A file whose key is found is not
read again.

A cache entry is never trusted: one that cannot be read, is from another
version or format, or does not hold what its key says is ignored and
rewritten. Entries are pickles, read by an unpickler that can build only the
case model's own classes: an entry cannot make the loader run anything.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from conformance.limits import LIMITS
from conformance.model import CaseFile
from conformance.version import SCHEMA_VERSION, __version__

CACHE_FORMAT = 1

#: The only globals an entry may name: the case model, the step language's IR,
#: the located containers of the YAML source, and a few builtins.
_ALLOWED_MODULES = ("conformance.model", "conformance.language.ir")
_ALLOWED = {
    ("conformance.yamlsource", "LocatedDict"),
    ("conformance.yamlsource", "LocatedList"),
    ("conformance.yamlsource", "LocatedStr"),
    ("builtins", "frozenset"),
    ("builtins", "set"),
    ("builtins", "slice"),
    ("builtins", "complex"),
}


class _CaseUnpickler(pickle.Unpickler):
    """Builds the case model's classes and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED or (module in _ALLOWED_MODULES and not name.startswith("_")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a cache entry may not name {module}.{name}")


def cache_key(data: bytes, display: str, topic: str | None) -> str:
    """What a loaded file depends on, hashed: its bytes and everything that shapes the result."""
    digest = hashlib.sha256()
    limits = ",".join(f"{limit.name}={limit.value()}" for limit in LIMITS)
    header = f"{CACHE_FORMAT}|{__version__}|{SCHEMA_VERSION}|{limits}|{display}|{topic}|"
    digest.update(header.encode("utf-8"))
    digest.update(data)
    return digest.hexdigest()


class CaseCache:
    """A folder of compiled case files, one entry per key."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _entry(self, key: str) -> Path:
        return self.folder / f"{key}.pickle"

    def get(self, key: str) -> CaseFile | None:
        """The case file stored under ``key``, or None: missing, unreadable or not what it says."""
        try:
            data = self._entry(key).read_bytes()
            stored_key, case_file = _CaseUnpickler(io.BytesIO(data)).load()
        except Exception:  # anything wrong with an entry means: load the file afresh
            return None
        if stored_key != key or not isinstance(case_file, CaseFile):
            return None
        return case_file

    def put(self, key: str, case_file: CaseFile) -> None:
        """Store an entry atomically; a cache that cannot be written is no reason to fail."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                pickle.dump((key, case_file), stream, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self._entry(key))
        except Exception:
            return
