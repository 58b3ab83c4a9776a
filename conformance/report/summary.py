"""Conformance figures: passed over applicable, per topic, per capability, overall.

A skipped case (capability missing, torch detail, skip list) is not applicable
and counts nowhere; a known failure (xfailed) still counts as a divergence,
because the engine still does not conform.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from conformance.report.model import APPLICABLE, CONFORMING, CaseRecord, RunReport

NO_CAPABILITY = "(none)"


@dataclass(frozen=True)
class Tally:
    conforming: int
    applicable: int
    skipped: int
    total: int = 0  # every case counted, applicable or not
    outcomes: tuple[tuple[str, int], ...] = ()  # count per outcome

    @property
    def percent(self) -> float | None:
        return 100.0 * self.conforming / self.applicable if self.applicable else None

    @property
    def applicable_percent(self) -> float | None:
        return 100.0 * self.applicable / self.total if self.total else None

    def count(self, outcome: str) -> int:
        return dict(self.outcomes).get(outcome, 0)


def tally(cases: Iterable[CaseRecord]) -> Tally:
    counts = Counter(case.outcome for case in cases)
    return Tally(
        conforming=sum(counts[o] for o in CONFORMING),
        applicable=sum(counts[o] for o in APPLICABLE),
        skipped=counts["skipped"],
        total=sum(counts.values()),
        outcomes=tuple(sorted(counts.items())),
    )


def _groups(
    cases: Iterable[CaseRecord], keys: Callable[[CaseRecord], Iterable[str]]
) -> dict[str, Tally]:
    grouped: dict[str, list[CaseRecord]] = {}
    for case in cases:
        for key in keys(case):
            grouped.setdefault(key, []).append(case)
    return {key: tally(grouped[key]) for key in sorted(grouped)}


def by_topic(report: RunReport) -> dict[str, Tally]:
    return _groups(report.cases, lambda case: [case.topic])


def by_capability(report: RunReport) -> dict[str, Tally]:
    return _groups(report.cases, lambda case: case.capabilities or [NO_CAPABILITY])


def format_percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def summary_line(report: RunReport) -> str:
    """The one line a CI log ends with.

    Both figures, because either alone misleads: passed over applicable says
    how well the engine does what it was asked, applicable over all says how
    much it was asked. E.g. ``autograd conformance: 274/301 applicable (91.0%);
    301 of 411 cases apply (73.2%) on tinygrad 0.14.0``.
    """
    total = tally(report.cases)
    line = (
        f"autograd conformance: {total.conforming}/{total.applicable} applicable"
        f" ({format_percent(total.percent)}); {total.applicable} of {total.total} cases apply"
        f" ({format_percent(total.applicable_percent)}) on {report.backend}"
        f" {report.backend_version}"
    )
    unusual = [
        f"{total.count(outcome)} {outcome.replace('-', ' ')}"
        for outcome in ("error", "crashed", "timed-out", "interrupted", "not-run")
        if total.count(outcome)
    ]
    unchecked = sum(len(case.unchecked) for case in report.cases if case.outcome in APPLICABLE)
    if unchecked:
        unusual.append(f"{unchecked} checks unchecked")
    return line + (f" ({', '.join(unusual)})" if unusual else "")


def nothing_applied(report: RunReport) -> bool:
    """A run that checked nothing: it must not pass a CI gate."""
    return bool(report.cases) and tally(report.cases).applicable == 0


def conventions_text(report: RunReport) -> str:
    """The conventions an adapter declared, as ``name=value, ...`` (cases pinning others skip)."""
    return ", ".join(f"{name}={value}" for name, value in report.conventions.items()) or "-"


def divergences(report: RunReport) -> list[CaseRecord]:
    """Cases where the engine does not conform, known failures included."""
    return [case for case in report.cases if case.outcome in APPLICABLE - CONFORMING]


def reproduction(report: RunReport, case: CaseRecord) -> str:
    """A shell command that runs this one case again on the same backend and settings.

    ``python -m pytest``, not ``pytest``: it puts the current folder on
    ``sys.path``, so a ``module:Class`` backend beside the user imports as it
    did in the run. Every value comes from the run (a backend, a device, a
    path) and is quoted for a POSIX shell.
    """
    parts = ["python -m pytest", f"--autograd-backend={_quote(report.backend_spec)}"]
    if report.device != "cpu":
        parts.append(f"--autograd-device={_quote(report.device)}")
    if report.dtype != "float32":
        parts.append(f"--autograd-dtype={_quote(report.dtype)}")
    # Explicit either way: strictness otherwise follows the adapter's default.
    parts.append("--autograd-strict" if report.strict else "--autograd-portable")
    if not case.path.startswith("cases/"):
        parts.append(f"--autograd-cases={_quote(case.path)}")
    parts.append(f"-k {_quote(_keyword(case, report.cases))}")
    return " ".join(parts)


def _keyword(case: CaseRecord, cases: Iterable[CaseRecord]) -> str:
    """A -k expression that selects this case and no other case of the run.

    -k matches a word when it is a substring of one of an item's names: its
    id, its file's name, its markers (``topic_<folder>``, ``kind_<kind>``,
    ``cap_<capability>``). The id and the file's name alone also select a
    longer id (``relu-at-zero-twice``) or a file of the same name in another
    folder, so the topic marker is added, and each other case of the run that
    would still match is excluded by a word of its own that this case does
    not contain (``and not relu-at-zero-twice``). A case the run did not
    collect (deselected with -k or -m) is not known here and is not excluded.
    """
    words = [w for w in (_file_name(case), case.id, _marker("topic", case.topic)) if _plain(w)]
    if not words:
        return case.id
    own = _names(case)
    excluded: list[str] = []
    for other in cases:
        if other.nodeid == case.nodeid or not all(_matches(w, _names(other)) for w in words):
            continue
        # A word of the rival's that no name of this case contains; its id first.
        apart = next((w for w in _names(other) if _plain(w) and not _matches(w, own)), None)
        if apart is not None and apart not in excluded:
            excluded.append(apart)
    return " and ".join(words + [f"not {word}" for word in excluded])


def _file_name(case: CaseRecord) -> str:
    return case.path.rsplit("/", 1)[-1]


def _marker(prefix: str, name: str) -> str:
    # As the plugin names markers (pytest_autograd_spec.state.marker_name).
    return f"{prefix}_{name.replace('-', '_').replace('.', '_')}"


def _names(case: CaseRecord) -> list[str]:
    """The names -k matches a case's item against, its id first (see ``_keyword``)."""
    markers = [_marker("cap", capability) for capability in case.capabilities]
    own = [case.id, _file_name(case), _marker("topic", case.topic), _marker("kind", case.kind)]
    return [*own, *markers]


def _matches(word: str, names: Iterable[str]) -> bool:
    return any(word.lower() in name.lower() for name in names)


def _plain(word: str) -> bool:
    # A -k word is one identifier; "and", "or" and "not" are its operators.
    return (
        bool(word)
        and all(ch.isalnum() or ch in "-_." for ch in word)
        and word.lower() not in ("and", "or", "not")
    )


def _quote(text: str) -> str:
    """Quote for a POSIX shell: a value from the run may hold spaces, quotes or ``$``."""
    return shlex.quote(text)
