"""Load case files: safe YAML, the JSON Schema, then the step language.

Every problem is a CaseFileError that starts with ``file:line`` and names the
case id and key, so an author sees at once where to look. All schema
violations of a file are reported together.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from conformance.arrays import ValueSpecError, build_array, invalid_literal_part, spec_elements
from conformance.cache import CaseCache, cache_key
from conformance.capabilities import infer_capabilities
from conformance.errors import CaseFileError, Location
from conformance.language import StepSyntaxError, compile_steps, ir
from conformance.limits import (
    FILE_BYTES,
    FILE_ELEMENTS,
    TENSOR_ELEMENTS,
    LimitConfigError,
    LimitExceeded,
    literal_elements,
)
from conformance.matching import pattern_problem
from conformance.model import (
    EXPECT_NONE,
    Case,
    CaseFile,
    Expectation,
    ExpectedError,
    InputSpec,
    Tolerance,
)
from conformance.yamlsource import LocatedDict, LocatedList, parse_yaml, read_source

CASE_FILE_SUFFIXES = (".yaml", ".yml")


@cache
def case_schema() -> dict[str, Any]:
    """The JSON Schema of case files, as shipped in the package."""
    text = resources.files("conformance").joinpath("schema/case.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(case_schema())


def _line_of(document: Any, path: Sequence[Any]) -> int:
    """The line of the value at ``path``, or of the nearest enclosing node."""
    node = document
    line = getattr(document, "line", 1)
    for key in path:
        if isinstance(node, LocatedDict) and key in node:
            line = node.key_lines.get(key, line)
            node = node[key]
        elif isinstance(node, LocatedList) and isinstance(key, int) and key < len(node):
            line = node.item_lines[key]
            node = node[key]
        else:
            break
    return line


def _case_id_at(document: Any, path: Sequence[Any]) -> str | None:
    if len(path) >= 2 and path[0] == "cases" and isinstance(path[1], int):
        cases = document.get("cases") if isinstance(document, dict) else None
        if isinstance(cases, list) and path[1] < len(cases) and isinstance(cases[path[1]], dict):
            case_id = cases[path[1]].get("id")
            return str(case_id) if case_id is not None else f"#{path[1] + 1}"
    return None


def _describe(error: ValidationError, document: Any, display: str) -> tuple[int, str]:
    """The line and message of one violation: ``file:line: case 'id': key k: problem``."""
    path = list(error.absolute_path)
    line = _line_of(document, path)
    in_case = path[:1] == ["cases"] and len(path) >= 2
    parts = path[2:] if in_case else path
    key = ".".join(str(part) for part in parts if not isinstance(part, int))
    message = error.message
    if error.validator == "additionalProperties" and isinstance(error.instance, LocatedDict):
        schema = error.schema if isinstance(error.schema, dict) else {}
        allowed = set(schema.get("properties", {}))
        if not schema.get("patternProperties"):
            unknown = [name for name in error.instance if name not in allowed]
            if unknown:
                line = error.instance.key_lines.get(unknown[0], line)
                key = f"{key}.{unknown[0]}" if key else unknown[0]
                message = f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
    elif error.context:
        deepest = best_match(error.context)
        message = f"{message}; {deepest.message}"
    if len(message) > 300:
        message = message[:297] + "..."
    case_id = _case_id_at(document, path)
    who = f"case {case_id!r}: " if case_id else ""
    return (
        line,
        f"{display}:{line}: {who}key {key or '(case)' if in_case else key or '(file)'}: {message}",
    )


#: Literals with more elements than this are checked by a plain walk, not by the schema.
_SCHEMA_LITERAL_ELEMENTS = 64


def _copy_dict(mapping: LocatedDict, changes: dict[str, Any]) -> LocatedDict:
    """A copy of ``mapping`` with some values changed; lines are kept."""
    copy = LocatedDict({**mapping, **changes})
    copy.line, copy.key_lines = mapping.line, mapping.key_lines
    copy.value_lines = mapping.value_lines
    return copy


def _literal_view(value: Any) -> Any:
    """What the schema is shown of a value: a long literal as [] or as its wrong part."""
    if not isinstance(value, list) or literal_elements(value) <= _SCHEMA_LITERAL_ELEMENTS:
        return value
    wrong = invalid_literal_part(value)
    return [] if wrong is None else wrong


def _case_view(raw: Any) -> Any:
    if not isinstance(raw, LocatedDict):
        return raw
    changes: dict[str, Any] = {}
    for section, keys in (("inputs", ("value",)), ("expect", ("value", "grad"))):
        mapping = raw.get(section)
        if not isinstance(mapping, LocatedDict):
            continue
        specs: dict[str, Any] = {}
        for name, spec in mapping.items():
            if not isinstance(spec, LocatedDict):
                continue
            shown = {key: _literal_view(spec[key]) for key in keys if key in spec}
            changed = {key: view for key, view in shown.items() if view is not spec[key]}
            if changed:
                specs[name] = _copy_dict(spec, changed)
        if specs:
            changes[section] = _copy_dict(mapping, specs)
    return _copy_dict(raw, changes) if changes else raw


def _schema_view(document: Any) -> Any:
    """The document as the schema validates it: long literals are checked apart.

    JSON Schema validation costs tens of microseconds per element of a
    literal; a walk (arrays.invalid_literal_part) does the same check at a
    fraction of that, so a long literal neither slows loading nor floods the
    message. Lines are read from the original document.
    """
    cases = document.get("cases") if isinstance(document, LocatedDict) else None
    if not isinstance(cases, LocatedList):
        return document
    views = [_case_view(raw) for raw in cases]
    if all(view is raw for view, raw in zip(views, cases, strict=True)):
        return document
    shown = LocatedList(views)
    shown.line, shown.item_lines = cases.line, cases.item_lines
    return _copy_dict(document, {"cases": shown})


def _compile_schema() -> Callable[[Any], Any]:
    """The schema compiled to Python: it only says whether a document conforms.

    Checking every case with a generic validator costs more than everything
    else a load does; the compiled one costs a few percent of it. The generic
    validator is still the one that explains a rejection, with every
    violation located, so it runs only on a file the compiled one refuses.
    Compiled once, when this module is imported: the code it runs is made
    from the shipped schema alone, never from a case file, and no load runs
    the compiler.
    """
    return fastjsonschema.compile(case_schema())


_FAST_VALIDATOR = _compile_schema()


def _schema_errors(document: Any, display: str) -> None:
    view = _schema_view(document)
    try:
        _FAST_VALIDATOR(view)
        return
    except Exception:  # refused (or not understood): the generic validator says why
        pass
    errors = _validator().iter_errors(view)
    described = sorted(
        (_describe(error, document, display) for error in errors),
        key=lambda item: item[0],
    )
    if not described:
        return
    first_line = described[0][0]
    lines = "\n".join(text for _, text in described)
    count = len(described)
    summary = f"{count} schema violation{'s' if count != 1 else ''}"
    raise CaseFileError(Location(display, first_line), f"{summary}:\n{lines}")


def _steps_position(steps: Any, raw_lines: list[str]) -> tuple[int, int]:
    """YAML line and column of the first character of the steps text."""
    line = getattr(steps, "line", 1)
    style = getattr(steps, "style", None)
    if style in ("|", ">"):
        first = line + 1
        while first <= len(raw_lines) and not raw_lines[first - 1].strip():
            first += 1
        text = raw_lines[first - 1] if first <= len(raw_lines) else ""
        return first, len(text) - len(text.lstrip()) + 1
    text = raw_lines[line - 1] if line <= len(raw_lines) else ""
    return line, max(text.find(str(steps).splitlines()[0][:20]) + 1, 1)


def _tolerance(raw: Any) -> Tolerance:
    if not isinstance(raw, dict):
        return Tolerance()
    return Tolerance(rtol=raw.get("rtol"), atol=raw.get("atol"))


def _check_value(value: Any, where: Location, case_id: str, key: str) -> None:
    """Build the value once (within the element limit) to find what cannot be built."""
    if value is None:
        return
    try:
        build_array(value, "float64")
    except (ValueSpecError, ValueError, TypeError, LimitExceeded) as exc:
        raise CaseFileError(where, f"key {key}: {exc}", case_id) from None


def _value_specs(document: dict[str, Any]) -> Iterator[tuple[int, str, str, Any]]:
    """Every value spec of a schema-valid file: (its line, case id, key path, the spec)."""
    for raw in document["cases"]:
        case_id = str(raw["id"])
        inputs = raw.get("inputs") or LocatedDict()
        for name, spec in inputs.items():
            line = inputs.key_lines.get(name, raw.line)
            yield line, case_id, f"inputs.{name}.value", spec["value"]
        expect = raw["expect"]
        for name, spec in expect.items():
            for key in ("value", "grad"):
                if spec.get(key) is not None:
                    line = expect.key_lines.get(name, raw.line)
                    yield line, case_id, f"expect.{name}.{key}", spec[key]


def _check_file_elements(document: dict[str, Any], display: str) -> None:
    """Each value, and the values of the file together, within the element limits.

    Counted from the specs alone, before anything is built, so a file cannot
    make the loader allocate what it then refuses.
    """
    total: float = 0
    for line, case_id, key, spec in _value_specs(document):
        try:
            count = spec_elements(spec)
            TENSOR_ELEMENTS.check(count, "this value")
            total += count
            FILE_ELEMENTS.check(total, "the values of this file, up to this one,")
        except (ValueSpecError, LimitExceeded) as exc:
            raise CaseFileError(Location(display, line), f"key {key}: {exc}", case_id) from None


def _build_case(raw: LocatedDict, topic: str, display: str, raw_lines: list[str]) -> Case:
    case_id = str(raw["id"])
    line = raw.key_lines.get("id", raw.line)

    def at(mapping: LocatedDict, key: str) -> Location:
        return Location(display, mapping.key_lines.get(key, mapping.line))

    dtype = raw.get("dtype")
    inputs: list[InputSpec] = []
    raw_inputs = raw.get("inputs") or LocatedDict()
    for name, spec in raw_inputs.items():
        input_line = raw_inputs.key_lines.get(name, raw.line)
        _check_value(spec["value"], Location(display, input_line), case_id, f"inputs.{name}.value")
        inputs.append(
            InputSpec(
                str(name),
                plain(spec["value"]),
                bool(spec.get("requires_grad", False)),
                spec.get("dtype"),
                input_line,
            )
        )

    steps = raw["steps"]
    steps_line, steps_column = _steps_position(steps, raw_lines)
    try:
        program = compile_steps(str(steps), [spec.name for spec in inputs])
    except StepSyntaxError as exc:
        where = Location(
            display, steps_line + max(exc.line, 1) - 1, steps_column + max(exc.column, 1) - 1
        )
        raise CaseFileError(where, f"steps: {exc.message}", case_id) from None

    raises = None
    if "raises" in raw:
        spec = raw["raises"]
        if spec["line"] not in program.statement_lines():
            raise CaseFileError(
                at(raw, "raises"),
                f"key raises.line: no statement starts at line {spec['line']} of steps",
                case_id,
            )
        raises = ExpectedError(
            spec["line"],
            str(spec["misuse"]),
            spec.get("type"),
            spec.get("match"),
            raw.key_lines["raises"],
        )
        problem = None if raises.match is None else pattern_problem(raises.match)
        if problem is not None:
            raise CaseFileError(at(raw, "raises"), f"key raises.match: {problem}", case_id)

    defined_before = _defined_before(program, raises.line if raises else None)
    expectations: list[Expectation] = []
    raw_expect: LocatedDict = raw["expect"]
    for name, spec in raw_expect.items():
        where = Location(display, raw_expect.key_lines[name])
        if name not in defined_before:
            if raises and name in program.assigned:
                problem = (
                    f"expect.{name}: {name!r} is assigned only at or after"
                    f" the expected error (line {raises.line})"
                )
            else:
                problem = f"expect.{name}: {name!r} is neither an input nor assigned in steps"
            raise CaseFileError(where, problem, case_id)
        for key in ("value", "grad"):
            _check_value(spec.get(key), where, case_id, f"expect.{name}.{key}")
        if "dtype" in spec and dtype is None:
            raise CaseFileError(
                where,
                f"key expect.{name}.dtype: a case that checks a dtype must pin its own"
                " (case key dtype)",
                case_id,
            )
        expectations.append(
            Expectation(
                variable=str(name),
                line=where.line,
                value=EXPECT_NONE
                if "value" in spec and spec["value"] is None
                else plain(spec.get("value")),
                shape=tuple(spec["shape"]) if "shape" in spec else None,
                dtype=spec.get("dtype"),
                grad_fn=spec.get("grad_fn"),
                grad_fn_name=EXPECT_NONE
                if "grad_fn_name" in spec and spec["grad_fn_name"] is None
                else spec.get("grad_fn_name"),
                requires_grad=spec.get("requires_grad"),
                is_leaf=spec.get("is_leaf"),
                grad=EXPECT_NONE
                if "grad" in spec and spec["grad"] is None
                else plain(spec.get("grad")),
                tolerance=Tolerance(rtol=spec.get("rtol"), atol=spec.get("atol")),
                key_lines={str(key): line for key, line in spec.key_lines.items()},
            )
        )

    kind = str(raw["kind"])
    if kind == "convention" and "convention" not in raw:
        raise CaseFileError(
            at(raw, "kind"),
            "key convention: a convention case must name the convention it pins",
            case_id,
        )
    uses_float64 = dtype == "float64" or any(spec.dtype == "float64" for spec in inputs)
    needed = infer_capabilities(program, uses_float64) | frozenset(raw.get("capabilities", ()))
    return Case(
        id=case_id,
        description=str(raw["description"]),
        kind=kind,
        topic=topic,
        path=display,
        line=line,
        steps=str(steps),
        steps_line=steps_line,
        steps_column=steps_column,
        program=program,
        inputs=tuple(inputs),
        expect=tuple(expectations),
        raises=raises,
        capabilities=needed,
        dtype=dtype,
        tolerance=_tolerance(raw.get("tolerance")),
        source=raw.get("source"),
        convention=plain(dict(raw.get("convention", {}))),
        catalog=tuple(str(item) for item in raw.get("catalog", ())),
        oracle_note=raw.get("oracle"),
    )


def plain(value: Any) -> Any:
    """A YAML value as plain lists, dicts and strings, its line bookkeeping dropped.

    The loaded case keeps no YAML node: what it holds is smaller to keep (and
    to cache) and the same to compare. Depth is bounded by the YAML depth limit.
    """
    if isinstance(value, dict):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def _defined_before(program: ir.Program, line: int | None) -> set[str]:
    """Inputs and names assigned before ``line`` (all of them when None)."""
    names = set(program.inputs)

    def visit(statements: tuple[ir.Stmt, ...]) -> None:
        for statement in statements:
            if line is not None and statement.line >= line:
                return
            if isinstance(statement, ir.GradMode):
                visit(statement.body)
            elif isinstance(statement, ir.Assign):
                names.update(statement.targets)

    visit(program.statements)
    return names


#: How a fault of the loader itself (one no check foresaw) is reported: still as
#: the file's error, so that one file never stops a run, but named for what it is.
LOADER_FAULT = "the loader failed on this file (a fault of the loader; please report it)"


def load_case_file(
    path: Path,
    display: str | None = None,
    topic: str | None = None,
    cache: CaseCache | None = None,
) -> CaseFile:
    """Load and validate one case file; raises CaseFileError with its location.

    With a ``cache``, a file loaded before with the same bytes, name, topic,
    version and limits is taken from it instead (conformance.cache).

    That is the only error a file's content can cause: whatever the file holds,
    loading it ends in cases or in one CaseFileError, within the limits of
    conformance.limits (size, nesting, elements), so a run goes on with the
    other files. A missing file is a FileNotFoundError, and a malformed limit
    setting a LimitConfigError: neither is about the file's content.
    """
    display = display or str(path)
    key = None
    if cache is not None:
        try:
            data = path.read_bytes() if path.stat().st_size <= FILE_BYTES.value() else None
        except OSError:
            data = None  # the load below says what is wrong with the file
        if data is not None:
            key = cache_key(data, display, topic)
            cached = cache.get(key)
            if cached is not None:
                return cached
    try:
        loaded = _load_case_file(path, display, topic)
        if cache is not None and key is not None:
            cache.put(key, loaded)
        return loaded
    except CaseFileError as exc:
        # The message is the whole report. The loader's frames are of no use to
        # an author, and costly to print: a frame's arguments can be a YAML graph
        # whose repr expands every alias (pytest prints them for a failed setup).
        raise exc.with_traceback(None) from None
    except (FileNotFoundError, LimitConfigError):
        raise
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        at = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        detail = f"{type(exc).__name__}{at}: {exc}"
        detail = detail if len(detail) <= 300 else detail[:297] + "..."
        raise CaseFileError(Location(display), f"{LOADER_FAULT}: {detail}") from None


def _load_case_file(path: Path, display: str, topic: str | None) -> CaseFile:
    text = read_source(path, display)
    document = parse_yaml(text, display)
    if not isinstance(document, dict):
        raise CaseFileError(
            Location(display, 1), "a case file is a mapping with schema_version and cases"
        )
    _schema_errors(document, display)
    _check_file_elements(document, display)
    file_topic = str(document.get("topic") or topic or path.parent.name)
    raw_lines = text.splitlines()
    seen: dict[str, int] = {}
    cases: list[Case] = []
    for raw in document["cases"]:
        case_id = str(raw["id"])
        line = raw.key_lines.get("id", raw.line)
        if case_id in seen:
            raise CaseFileError(
                Location(display, line),
                f"duplicate case id (first at line {seen[case_id]})",
                case_id,
            )
        seen[case_id] = line
        cases.append(_build_case(raw, file_topic, display, raw_lines))
    return CaseFile(display, file_topic, tuple(cases))


def iter_case_paths(root: Path) -> Iterator[Path]:
    """Case files under ``root`` (or root itself), in a stable order."""
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.suffix in CASE_FILE_SUFFIXES and path.is_file():
            yield path


def bundled_cases_dir() -> Path:
    """The spec shipped with the package.

    An installed wheel carries it as ``conformance/cases``; a source checkout
    (editable install) keeps it at the repository's top level.
    """
    packaged = Path(__file__).resolve().parent / "cases"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "cases"


__all__ = ["bundled_cases_dir", "case_schema", "iter_case_paths", "load_case_file"]
