"""Conformance figures: passed over applicable, per topic, per capability, overall.

A skipped case (capability missing, torch detail, skip list) is not applicable
and counts nowhere; a known failure (xfailed) still counts as a divergence,
because the engine still does not conform.
"""

from __future__ import annotations

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

    @property
    def percent(self) -> float | None:
        return 100.0 * self.conforming / self.applicable if self.applicable else None


def tally(cases: Iterable[CaseRecord]) -> Tally:
    counts = Counter(case.outcome for case in cases)
    return Tally(
        conforming=sum(counts[o] for o in CONFORMING),
        applicable=sum(counts[o] for o in APPLICABLE),
        skipped=counts["skipped"],
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
    """The one line a CI log ends with, e.g. ``autograd conformance: 143/150 (95.3%) on x 1.2``."""
    total = tally(report.cases)
    return (
        f"autograd conformance: {total.conforming}/{total.applicable}"
        f" ({format_percent(total.percent)}) on {report.backend} {report.backend_version}"
    )


def conventions_text(report: RunReport) -> str:
    """The conventions an adapter declared, as ``name=value, ...`` (cases pinning others skip)."""
    return ", ".join(f"{name}={value}" for name, value in report.conventions.items()) or "-"


def divergences(report: RunReport) -> list[CaseRecord]:
    """Cases where the engine does not conform, known failures included."""
    return [case for case in report.cases if case.outcome in APPLICABLE - CONFORMING]


def reproduction(report: RunReport, case: CaseRecord) -> str:
    """A command that runs this one case again on the same backend and settings."""
    parts = [f"pytest --autograd-backend={report.backend_spec}"]
    if report.device != "cpu":
        parts.append(f"--autograd-device={report.device}")
    if report.dtype != "float32":
        parts.append(f"--autograd-dtype={report.dtype}")
    # Explicit either way: strictness otherwise follows the adapter's default.
    parts.append("--autograd-strict" if report.strict else "--autograd-portable")
    if not case.path.startswith("cases/"):
        parts.append(f"--autograd-cases={_quote(case.path)}")
    parts.append(f"-k {_quote(_keyword(case))}")
    return " ".join(parts)


def _keyword(case: CaseRecord) -> str:
    """A -k expression selecting the case: its id and its file's name (both substrings)."""
    stem = case.path.rsplit("/", 1)[-1]
    words = [w for w in (stem, case.id) if _plain(w)]
    return " and ".join(words) if words else case.id


def _plain(word: str) -> bool:
    # -k takes identifiers-ish words; an id with spaces or operators cannot be one.
    return bool(word) and all(ch.isalnum() or ch in "-_." for ch in word)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
