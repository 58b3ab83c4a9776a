"""The report as the run goes: JSON Lines, flushed as each case starts and finishes.

The complete report is written when the session ends; a session that is
killed (by the kernel, by a timeout's backstop, by a crash in native code)
never gets there. So while the run goes on, ``REPORT.partial`` beside the
report holds a header line (the run's settings) and one line per event: a
case starting, a case finished with its record. The complete report replaces
it at the end. :func:`read_journal` turns a journal left behind into a
report: a case that started and never finished is ``crashed``, or
``timed-out`` when the timeout's backstop wrote its tracebacks after it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from conformance.report.collect import placeholder
from conformance.report.model import CaseRecord, RunReport, case_record

#: faulthandler's first line when dump_traceback_later fires.
_TIMEOUT_MARK = "Timeout ("


def journal_path(report_path: Path) -> Path:
    return report_path.with_name(report_path.name + ".partial")


class Journal:
    """Appends events to the journal, each flushed at once."""

    def __init__(self, path: Path, header: RunReport) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file: IO[str] = path.open("w", encoding="utf-8")
        data = header.to_json()
        data.pop("cases", None)
        self._write({"event": "run", **data})

    def _write(self, event: dict[str, Any]) -> None:
        self.file.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.file.flush()

    def start(self, nodeid: str) -> None:
        self._write({"event": "start", "nodeid": nodeid})

    def finish(self, record: CaseRecord) -> None:
        self._write({"event": "case", **asdict(record)})

    def close(self, remove: bool) -> None:
        self.file.close()
        if remove:
            self.path.unlink(missing_ok=True)


def read_journal(path: Path) -> RunReport:
    """The report a journal stands for; unfinished cases say how they ended."""
    header: dict[str, Any] | None = None
    records: dict[str, CaseRecord] = {}
    running: str | None = None
    dumps: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            if running is not None and (line.startswith(_TIMEOUT_MARK) or running in dumps):
                dumps.setdefault(running, []).append(line)
            continue
        kind = event.pop("event", None)
        if kind == "run":
            header = event
        elif kind == "start":
            running = str(event["nodeid"])
        elif kind == "case":
            record = case_record(event)
            records[record.nodeid] = record
            if running == record.nodeid:
                running = None
    if header is None:
        raise ValueError(f"{path}: not a journal of this tool (no header line)")
    if running is not None and running not in records:
        dump = dumps.get(running)
        record = records[running] = placeholder(running)
        record.outcome = "timed-out" if dump else "crashed"
        record.reason = "\n".join(dump) if dump else "the process ended while this case ran"
    fields = {key: value for key, value in header.items() if key != "report_format"}
    cases = sorted(records.values(), key=lambda r: (r.path, r.line, r.nodeid))
    return RunReport(**{**fields, "cases": cases})
