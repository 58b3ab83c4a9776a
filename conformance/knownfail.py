"""Known-failure and skip lists: case patterns grouped by the reason they are listed.

A CI gate runs the whole spec on an engine that does not pass all of it yet.
The list names what is known to fail (or must not run), each entry with its
reason, so only a new divergence fails the build. The file is YAML, a mapping
from reason to the patterns it covers::

    "views are copies in this engine (issue 12)":
      - cases/views/*.yaml::*
    "no retain_graph; second pass re-records":
      - "*::second-backward-*"
      - sum-forward-and-grad

A pattern with ``::`` is matched against the whole case id as pytest shows it
(``cases/<topic>/<file>.yaml::<case id>``); a pattern without ``::`` against
the case id alone. ``*``, ``?`` and ``[...]`` are shell globs.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from conformance.errors import CaseFileError, Location
from conformance.yamlsource import LocatedDict, LocatedList, load_yaml


class KnownListError(Exception):
    """A list file that cannot be read; its message starts with ``file:line``."""


@dataclass(frozen=True)
class Entry:
    """One pattern of a list, with the reason it stands under and where it was written."""

    pattern: str
    reason: str
    location: Location

    def matches(self, nodeid: str) -> bool:
        if "::" in self.pattern:
            return fnmatch.fnmatchcase(nodeid, self.pattern)
        return fnmatch.fnmatchcase(nodeid.rpartition("::")[2], self.pattern)


@dataclass(frozen=True)
class KnownList:
    """A loaded list file; the first entry that matches a case gives its reason."""

    path: str
    entries: tuple[Entry, ...]

    def reason_for(self, nodeid: str) -> str | None:
        for entry in self.entries:
            if entry.matches(nodeid):
                return entry.reason
        return None

    def unmatched(self, nodeids: Iterable[str]) -> list[Entry]:
        """Entries that match none of ``nodeids``: stale, they should be removed."""
        ids = list(nodeids)
        return [entry for entry in self.entries if not any(entry.matches(i) for i in ids)]


def load_known_list(path: Path, display: str | None = None) -> KnownList:
    """Read a list file; any structural problem is a located KnownListError."""
    shown = display or path.as_posix()
    if not path.is_file():
        raise KnownListError(f"{shown}: no such file")
    try:
        document = load_yaml(path, shown)
    except CaseFileError as exc:
        raise KnownListError(str(exc)) from None
    if document is None:
        return KnownList(shown, ())
    if not isinstance(document, LocatedDict):
        raise KnownListError(
            f"{shown}:1: expected a mapping from reason to a list of case patterns"
        )
    entries: list[Entry] = []
    for reason, patterns in document.items():
        line = document.key_lines[reason]
        if not str(reason).strip():
            raise KnownListError(f"{shown}:{line}: a reason must not be empty")
        if isinstance(patterns, str):
            patterns = [patterns]
            lines = [document.value_lines[reason]]
        elif isinstance(patterns, LocatedList):
            lines = patterns.item_lines
        else:
            raise KnownListError(
                f"{shown}:{line}: reason {reason!r}: expected a list of case patterns"
            )
        for pattern, item_line in zip(patterns, lines, strict=True):
            if not isinstance(pattern, str) or not pattern.strip():
                raise KnownListError(
                    f"{shown}:{item_line}: reason {reason!r}: a pattern must be a non-empty string"
                )
            entries.append(Entry(pattern.strip(), str(reason), Location(shown, item_line)))
    return KnownList(shown, tuple(entries))


__all__ = ["Entry", "KnownList", "KnownListError", "load_known_list"]
