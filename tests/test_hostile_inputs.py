"""Hostile and unlucky case files: each is one located CaseFileError, quickly, and runs nothing.

``tests/hostile/`` keeps one file per way a case file went wrong before (or
could): bytes that are not UTF-8, Python tags, alias bombs, rules that divide
by zero, shapes of billions of elements, programs too deep for Python's
parser. Each file's first line says where the error must point and a piece
of its message (``# expect: line 8: over the limit``). Files too large to keep
in the repository are made by the tests below.

Every load here runs under a cap on the process's memory, with an audit hook
watching for anything executed, so a regression shows as a failed test, not
as a machine out of memory.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.errors import CaseFileError
from conformance.loader import LOADER_FAULT, load_case_file
from conformance.model import CaseFile
from conformance.report import (
    CaseRecord,
    MismatchRecord,
    ReportError,
    RunReport,
    load_report,
    render_markdown,
)

try:
    import resource
except ImportError:  # not on Windows: loads there run without the memory cap
    resource = None  # type: ignore[assignment]

HOSTILE = Path(__file__).resolve().parent / "hostile"
FIXTURES = sorted(HOSTILE.glob("*.yaml"))
#: Any one load taking longer than this is a hang (the slowest fixture takes milliseconds).
HANG_SECONDS = 10.0
#: Headroom above the process's current size while a hostile file loads.
MEMORY_HEADROOM = 1 << 30

TEMPLATE = """\
schema_version: "1.0"
cases:
  - id: hostile
    description: A case file of hostile content.
    kind: math
    inputs:
      x: {value: 3.0, requires_grad: true}
    steps: |
      y = x ** 2
    expect:
      y: {value: 9.0}
"""
STEP_LINE = 9  # of TEMPLATE


# Guards shared with tests/test_fuzz_loader.py -----------------------------------
@contextmanager
def memory_cap(headroom: int = MEMORY_HEADROOM) -> Iterator[None]:
    """Cap the address space at the current size plus ``headroom`` (Linux), then restore it.

    An allocation a limit should have refused then fails at once with
    MemoryError instead of filling the machine.
    """
    statm = Path("/proc/self/statm")
    if resource is None or not statm.exists():
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = int(statm.read_text().split()[0]) * resource.getpagesize() + headroom
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft != resource.RLIM_INFINITY and soft <= cap:
        yield  # already capped more tightly
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


_DANGEROUS = (
    "os.system",
    "os.exec",
    "os.spawn",
    "os.posix_spawn",
    "os.fork",
    "os.kill",
    "os.remove",
    "os.rename",
    "os.rmdir",
    "shutil.",
    "subprocess.",
    "socket.",
    "ctypes.",
    "pty.",
    "webbrowser.",
)


@dataclass
class _Watch:
    active: bool = False
    seen: list[str] = field(default_factory=list)


_WATCH = _Watch()


def _writes(args: tuple[Any, ...]) -> bool:
    mode = args[1] if len(args) > 1 else None
    flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
    if isinstance(mode, str):
        return any(letter in mode for letter in "wax+")
    return bool(flags & 0o3)  # O_WRONLY or O_RDWR


def _importing() -> bool:
    """Whether a module is being imported (a lazy import runs its module's code: that is fine)."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Record what would mean a case file's content was executed (see ``nothing_executed``)."""
    if not _WATCH.active:
        return
    executed = (
        event == "exec"
        and str(getattr(args[0], "co_filename", "")).startswith("<")
        and not _importing()
    )
    if event.startswith(_DANGEROUS) or executed or (event == "open" and _writes(args)):
        _WATCH.seen.append(f"{event} {str(args)[:120]}")


sys.addaudithook(_audit)


@contextmanager
def nothing_executed() -> Iterator[list[str]]:
    """Watch, through Python's audit hooks, for code run, processes started or files written."""
    _WATCH.seen.clear()
    _WATCH.active = True
    try:
        yield _WATCH.seen
    finally:
        _WATCH.active = False


@dataclass(frozen=True)
class Loaded:
    """How one load ended: its cases or its error, how long it took, what it ran."""

    result: CaseFile | CaseFileError
    seconds: float
    executed: tuple[str, ...]

    @property
    def error(self) -> CaseFileError:
        assert isinstance(self.result, CaseFileError), "the file loaded, with no error"
        return self.result


def load_guarded(path: Path, display: str | None = None) -> Loaded:
    """Load under the memory cap and the audit watch; any exception but CaseFileError escapes."""
    with memory_cap(), nothing_executed() as seen:
        start = time.perf_counter()
        result: CaseFile | CaseFileError
        try:
            result = load_case_file(path, display=display or path.name)
        except CaseFileError as exc:
            result = exc
        seconds = time.perf_counter() - start
    return Loaded(result, seconds, tuple(seen))


def assert_sound(loaded: Loaded) -> None:
    """What every load must be: quick, nothing run, and no fault of the loader itself."""
    assert not loaded.executed, f"loading ran something: {loaded.executed}"
    assert loaded.seconds < HANG_SECONDS, f"loading took {loaded.seconds:.1f} s"
    if isinstance(loaded.result, CaseFileError):
        assert LOADER_FAULT not in str(loaded.result), str(loaded.result)


# The kept files -------------------------------------------------------------------
_EXPECT = re.compile(r"# expect: line (\d+): (.+)")


def expectation(path: Path) -> tuple[int, str]:
    """The line and message piece a fixture's first line promises."""
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    match = _EXPECT.fullmatch(first)
    assert match, f"{path.name}: the first line must be '# expect: line N: text'"
    return int(match.group(1)), match.group(2)


def test_there_are_hostile_fixtures() -> None:
    assert len(FIXTURES) >= 60


@pytest.mark.parametrize("path", FIXTURES, ids=[path.stem for path in FIXTURES])
def test_hostile_file_is_one_located_error(path: Path) -> None:
    line, piece = expectation(path)
    loaded = load_guarded(path)
    assert_sound(loaded)
    error = loaded.error
    assert error.location.path == path.name
    assert error.location.line == line, str(error)
    assert piece in str(error)
    assert str(error).startswith(f"{path.name}:{line}")


# Files too large to keep ------------------------------------------------------------
def with_step(step: str) -> str:
    return TEMPLATE.replace("y = x ** 2", step)


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "made.yaml"
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


@pytest.mark.parametrize(
    ("step", "piece"),
    [
        ("y = " + "-" * 110_000 + "x", "characters"),  # over the length limit
        # Python's parser gives up on these, or the depth limit refuses them.
        ("y = " + "-" * 40_000 + "x", "nest"),
        ("y = " + " + ".join(["x"] * 20_000), "nest"),
        ("y = x" + ".exp()" * 15_000, "nest"),
        ("y = tensor([" + "1, " * 40_000 + "1])", "characters"),
    ],
    ids=["minus-110000", "minus-40000", "sum-20000", "chain-15000", "literal-40000"],
)
def test_programs_too_large_for_python(tmp_path: Path, step: str, piece: str) -> None:
    loaded = load_guarded(write(tmp_path, with_step(step)))
    assert_sound(loaded)
    assert loaded.error.location.line == STEP_LINE
    assert piece in str(loaded.error)


def test_a_file_over_the_byte_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_FILE_BYTES", "1000000")
    padding = "x" * 1_100_000
    loaded = load_guarded(write(tmp_path, TEMPLATE.replace("hostile content", padding)))
    assert_sound(loaded)
    assert "over the limit of 1,000,000 bytes" in str(loaded.error)


def test_a_huge_literal_is_refused_by_its_node_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_YAML_NODES", "50000")
    literal = "[" + ", ".join(["1"] * 60_000) + "]"
    text = TEMPLATE.replace("y: {value: 9.0}", f"y: {{value: {literal}}}")
    loaded = load_guarded(write(tmp_path, text))
    assert_sound(loaded)
    assert loaded.error.location.line == 11
    assert "over the limit of 50,000 YAML nodes" in str(loaded.error)


def test_a_long_literal_within_the_limits_loads(tmp_path: Path) -> None:
    """A literal of 20,000 elements is checked by a walk, not element by element by the schema."""
    literal = "[" + ", ".join(["1.5"] * 20_000) + "]"
    steps = "y = x * 1"
    text = with_step(steps).replace("x: {value: 3.0", f"x: {{value: {literal}")
    text = text.replace("y: {value: 9.0}", f"y: {{value: {literal}}}")
    loaded = load_guarded(write(tmp_path, text))
    assert_sound(loaded)
    assert isinstance(loaded.result, CaseFile)
    assert loaded.seconds < 3


def test_a_wrong_element_deep_in_a_long_literal_is_named(tmp_path: Path) -> None:
    rows = ", ".join("[" + ", ".join(["1"] * 10) + "]" for _ in range(20))
    literal = "[" + rows.replace("1]", "oops]", 7) + "]"
    text = TEMPLATE.replace("y: {value: 9.0}", f"y: {{value: {literal}}}")
    loaded = load_guarded(write(tmp_path, text))
    assert_sound(loaded)
    assert loaded.error.location.line == 11
    assert "'oops'" in str(loaded.error)


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-32", "latin-1", "cp1252", "shift_jis"], ids=str
)
def test_text_in_another_encoding_is_a_located_error(tmp_path: Path, encoding: str) -> None:
    text = TEMPLATE.replace("hostile content", "contenu d\u00e9j\u00e0 \u00e9crit \u00fc")
    if encoding == "shift_jis":
        text = TEMPLATE.replace("hostile content", "\u65e5\u672c\u8a9e")
    loaded = load_guarded(write(tmp_path, text.encode(encoding)))
    assert_sound(loaded)
    error = loaded.error
    if encoding.startswith("utf-"):
        assert "not UTF-8" in str(error)
    else:  # the first non-ASCII byte is in the description
        assert error.location.line == 4
        assert "not UTF-8" in str(error)


def test_an_unreadable_path_is_a_located_error(tmp_path: Path) -> None:
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    loaded = load_guarded(folder, "folder.yaml")
    assert_sound(loaded)
    assert str(loaded.error).startswith("folder.yaml: cannot be read")


def test_a_missing_file_is_not_a_case_file_error(tmp_path: Path) -> None:
    """A path that names nothing is the caller's mistake, not the content of a file."""
    with pytest.raises(FileNotFoundError):
        load_case_file(tmp_path / "missing.yaml")


def test_a_rule_is_evaluated_in_bounded_memory(tmp_path: Path) -> None:
    """A rule of the largest shape and a deep expression stays within a small memory cap."""
    expr = "(i + 1) * (" * 40 + "j" + ")" * 40  # 40 intermediate arrays alive at once
    spec = f'{{rule: {{shape: [1000, 1000], expr: "{expr}"}}}}'
    text = TEMPLATE.replace("x: {value: 3.0", f"x: {{value: {spec}")
    text = text.replace("y: {value: 9.0}", "y: {shape: [1000, 1000]}")
    with memory_cap(300 << 20):
        case_file = load_case_file(write(tmp_path, text), display="made.yaml")
    assert case_file.cases[0].inputs[0].name == "x"


# One bad file among good ones: the run goes on ---------------------------------------
GOOD = """\
schema_version: "1.0"
cases:
  - id: square
    description: The derivative of x squared is two x.
    kind: math
    inputs:
      x: {value: 3.0, requires_grad: true}
    steps: |
      y = x ** 2
      g = grad(y, x)[0]
    expect:
      g: {value: 6.0}
"""


def test_hostile_files_are_errors_and_the_other_files_run(
    pytester: pytest.Pytester, spec_bundle: Path
) -> None:
    pytest.importorskip("torch")
    spec = pytester.path / "spec" / "mixed"
    spec.mkdir(parents=True)
    (spec / "a-good.yaml").write_text(GOOD, encoding="utf-8")
    chosen = ["non-utf8-byte-in-steps", "rule-division-by-zero", "zeros-huge", "alias-bomb"]
    chosen += ["steps-deep-unary-minus", "steps-long-sum-parser", "python-tag-apply"]
    for name in chosen:
        (spec / f"{name}.yaml").write_bytes((HOSTILE / f"{name}.yaml").read_bytes())
    (spec / "z-good.yaml").write_text(GOOD, encoding="utf-8")
    result = pytester.runpytest(
        "--autograd-backend=torch", "--autograd-cases=spec", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2, errors=len(chosen))
    assert "Interrupted" not in result.stdout.str()


# The report command's input -------------------------------------------------------------
def test_deeply_nested_json_is_a_one_line_report_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(ReportError, match="nested too deeply"):
        load_report(deep)
    page = tmp_path / "page.html"
    assert main(["report", str(deep), "--markdown", "-", "--html", str(page)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("report: ")
    assert not page.exists()


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe{}", b'{"backend": "\xe9"}', b"1e999999", b'"' + b"a" * 1000 + b'"', b"{" * 5000],
    ids=["utf16-bom", "latin1", "huge-number", "a-string", "open-braces"],
)
def test_any_bytes_are_a_report_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "odd.json"
    path.write_bytes(data)
    with pytest.raises(ReportError) as info:
        load_report(path)
    assert "\n" not in str(info.value)


def _outside_code_spans(markdown: str) -> str:
    return re.sub(r"(`+)(.+?)\1", "", markdown)


def test_markdown_shows_report_strings_as_text_never_as_html() -> None:
    hostile = "<script>alert(1)</script>"
    case = CaseRecord(
        id="c",
        nodeid=f"cases/t.yaml::{hostile}",
        path="cases/`<b>`t.yaml",
        line=3,
        topic="t",
        kind="math",
        description="<img src=x onerror=alert(1)>\n<!-- a comment -->",
        capabilities=[],
        outcome="failed",
        reason="",
        mismatches=[MismatchRecord("y", "value", "expected 1, got <2> </p><iframe>", 4)],
    )
    report = RunReport(
        backend="<b>engine</b>",
        backend_spec="pkg:<i>Engine</i>",
        backend_version="1",
        device="cpu",
        dtype="float32",
        strict=False,
        spec_version="1.0",
        tool_version="0",
        capabilities=[],
        cases=[case],
        file_errors=["cases/x.yaml:1: <svg onload=alert(1)>"],
    )
    markdown = render_markdown([report])
    text = _outside_code_spans(markdown)
    assert not re.search(r"<[A-Za-z/!?]", text), text
    for shown in ("&lt;script>", "&lt;img src=x", "&lt;!-- a comment", "&lt;iframe>", "&lt;svg"):
        assert shown in markdown
    assert "got <2>" in markdown  # "<2" cannot open a tag: it stays as written
    assert "``cases/`<b>`t.yaml:3``" in markdown  # a code span that backticks cannot end early
    assert "\n<" not in markdown
