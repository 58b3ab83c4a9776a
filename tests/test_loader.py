"""The loader: every fault of a case file is reported at its file and line, with the case and key.

Each test starts from one valid file and breaks one thing, so the expected
line is the line the test itself changed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.errors import CaseFileError
from conformance.loader import bundled_cases_dir, iter_case_paths, load_case_file
from conformance.model import EXPECT_NONE, Case, CaseFile

LoadCases = Callable[..., CaseFile]

VALID = """\
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
      y: {value: 9.0}
      g: {value: 6.0}
"""


def replace_line(line: int, new: str) -> str:
    """VALID with its 1-based ``line`` replaced by ``new``."""
    lines = VALID.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def insert_after(line: int, new: str) -> str:
    """VALID with ``new`` inserted after its 1-based ``line``."""
    lines = VALID.splitlines()
    lines.insert(line, new)
    return "\n".join(lines) + "\n"


def load_error(load_cases: LoadCases, text: str) -> CaseFileError:
    with pytest.raises(CaseFileError) as info:
        load_cases(text)
    return info.value


def test_valid_file_loads_into_typed_cases(load_cases: LoadCases) -> None:
    case_file = load_cases(VALID)
    assert case_file.path == "cases.yaml"
    (case,) = case_file.cases
    assert isinstance(case, Case)
    assert (case.id, case.kind, case.line) == ("square", "math", 3)
    assert case.description == "The derivative of x squared is two x."
    (x,) = case.inputs
    assert (x.name, x.value, x.requires_grad, x.line) == ("x", 3.0, True, 7)
    assert [e.variable for e in case.expect] == ["y", "g"]
    assert [e.line for e in case.expect] == [12, 13]
    assert case.steps_line == 9  # the first line of the block scalar's text
    assert case.step_source(2) == "g = grad(y, x)[0]"
    assert case.step_location(2).line == 10
    assert case.program.assigned == ("y", "g")
    assert case.raises is None
    assert case.capabilities == frozenset()  # grad() and values need nothing optional


def test_topic_defaults_to_the_folder_and_can_be_set(load_cases: LoadCases) -> None:
    assert load_cases(VALID, "calculus/a.yaml").topic == "calculus"
    named = load_cases("topic: chain-rule\n" + VALID, "calculus/b.yaml")
    assert named.topic == "chain-rule"
    assert named.cases[0].topic == "chain-rule"


@pytest.mark.parametrize(
    ("text", "line", "fragments"),
    [
        pytest.param(
            insert_after(4, "    summary: The derivative of x squared."),
            5,
            ["case 'square'", "unknown key 'summary'", "description"],
            id="unknown-key",
        ),
        pytest.param(
            replace_line(5, "    kind: maths"),
            5,
            ["case 'square'", "key kind", "'maths'"],
            id="kind-not-in-enum",
        ),
        pytest.param(
            replace_line(3, "  - id: Square Case"),
            3,
            ["key id", "'Square Case'"],
            id="id-pattern",
        ),
        pytest.param(
            replace_line(4, "    description: short"),
            4,
            ["case 'square'", "key description", "'short'"],
            id="description-too-short",
        ),
        pytest.param(
            replace_line(7, "      x: {value: 3.0, requires_grad: yes please}"),
            7,
            ["case 'square'", "key inputs.x.requires_grad", "'yes please'"],
            id="wrong-type",
        ),
        pytest.param(
            replace_line(7, "      x: {value: [1, two], requires_grad: true}"),
            7,
            ["case 'square'", "key inputs.x.value"],
            id="bad-literal",
        ),
        pytest.param(
            replace_line(12, "      y: {value: 9.0, atol: -1}"),
            12,
            ["case 'square'", "key expect.y.atol", "-1"],
            id="negative-tolerance",
        ),
        pytest.param(
            replace_line(12, "      y: {value: 9.0, gradfn: true}"),
            12,
            ["case 'square'", "unknown key 'gradfn'", "grad_fn"],
            id="unknown-expectation-key",
        ),
        pytest.param(
            replace_line(7, "      1x: {value: 3.0, requires_grad: true}"),
            6,
            ["case 'square'", "key inputs", "'1x'"],
            id="bad-variable-name",
        ),
        pytest.param(
            insert_after(5, "    capabilities: [backward, telepathy]"),
            6,
            ["case 'square'", "key capabilities", "'telepathy'"],
            id="unknown-capability",
        ),
        pytest.param(
            replace_line(1, 'schema_version: "2.0"'),
            1,
            ["key schema_version", "'2.0'"],
            id="schema-version-major",
        ),
        pytest.param(
            replace_line(1, "schema_version: 1.0"),
            1,
            ["key schema_version", "1.0"],
            id="schema-version-not-a-string",
        ),
        pytest.param(
            insert_after(1, "author: someone"),
            2,
            ["unknown key 'author'"],
            id="unknown-top-level-key",
        ),
    ],
)
def test_schema_violation_is_located(
    load_cases: LoadCases, text: str, line: int, fragments: list[str]
) -> None:
    error = load_error(load_cases, text)
    message = str(error)
    assert error.location.path == "cases.yaml"
    assert error.location.line == line
    assert message.startswith(f"cases.yaml:{line}")
    assert "1 schema violation:" in message
    assert f"\ncases.yaml:{line}: " in message
    for fragment in fragments:
        assert fragment in message


def test_missing_required_key_points_at_the_case(load_cases: LoadCases) -> None:
    text = VALID.replace("    description: The derivative of x squared is two x.\n", "")
    error = load_error(load_cases, text)
    assert error.location.line == 3
    assert "case 'square'" in str(error)
    assert "'description' is a required property" in str(error)


def test_empty_expect_is_a_violation(load_cases: LoadCases) -> None:
    lines = [*VALID.splitlines()[:10], "    expect: {}"]
    error = load_error(load_cases, "\n".join(lines) + "\n")
    assert error.location.line == 11
    assert "key expect" in str(error)


def test_missing_cases_and_empty_cases(load_cases: LoadCases) -> None:
    error = load_error(load_cases, 'schema_version: "1.0"\n')
    assert "'cases' is a required property" in str(error)
    error = load_error(load_cases, 'schema_version: "1.0"\ncases: []\n')
    assert error.location.line == 2
    assert "key cases" in str(error)


@pytest.mark.parametrize("text", ["- just\n- a list\n", "a scalar\n", ""])
def test_a_file_must_be_a_mapping(load_cases: LoadCases, text: str) -> None:
    error = load_error(load_cases, text)
    assert str(error).startswith("cases.yaml:1: ")
    assert "mapping" in str(error)


def test_every_violation_of_a_file_is_reported_together(load_cases: LoadCases) -> None:
    text = replace_line(5, "    kind: maths").replace("{value: 6.0}", "{value: 6.0, atl: 1}")
    error = load_error(load_cases, text)
    message = str(error)
    assert "2 schema violations:" in message
    assert "\ncases.yaml:5: case 'square': key kind" in message
    assert "\ncases.yaml:13: case 'square': key expect.g.atl: unknown key 'atl'" in message
    assert error.location.line == 5  # the first, so an editor jumps to the top one


def test_violation_in_second_case_names_that_case(load_cases: LoadCases) -> None:
    second = """\
  - id: cube
    description: The derivative of x cubed is three x squared.
    kind: math
    inputs:
      x: {value: 2.0, requires_grad: true}
    steps: |
      g = grad(x ** 3, x)[0]
    expect:
      g: {value: 12.0, grad_fn: maybe}
"""
    error = load_error(load_cases, VALID + second)
    assert error.location.line == 22
    assert "case 'cube': key expect.g.grad_fn" in str(error)


def test_yaml_syntax_error_is_located(load_cases: LoadCases) -> None:
    text = replace_line(12, "      y: {value: 9.0")
    error = load_error(load_cases, text)
    assert error.location.line == 13
    assert str(error).startswith("cases.yaml:13:")
    assert "YAML syntax" in str(error)


def test_duplicate_key_in_a_case(load_cases: LoadCases) -> None:
    error = load_error(load_cases, insert_after(5, "    kind: semantics"))
    assert error.location.line == 6
    assert "duplicate key 'kind' (first at line 5)" in str(error)


def test_duplicate_case_id(load_cases: LoadCases) -> None:
    case = VALID.split("cases:\n", 1)[1]
    error = load_error(load_cases, VALID + case)
    assert error.location.line == 14
    assert error.case_id == "square"
    assert str(error) == "cases.yaml:14: case 'square': duplicate case id (first at line 3)"


def test_same_id_in_two_files_is_allowed(load_cases: LoadCases) -> None:
    assert load_cases(VALID, "a.yaml").cases[0].id == load_cases(VALID, "b.yaml").cases[0].id


def test_step_error_points_into_the_steps_block(load_cases: LoadCases) -> None:
    error = load_error(load_cases, replace_line(10, "      g = grad(y, z)[0]"))
    # Line 10 of the file; the text starts at column 7 and z is its 13th character.
    assert (error.location.line, error.location.column) == (10, 7 + 12)
    assert error.case_id == "square"
    assert "unknown name 'z'" in str(error)
    assert str(error).startswith("cases.yaml:10:19: case 'square': steps: ")


def test_step_error_in_a_one_line_steps_string(load_cases: LoadCases) -> None:
    text = VALID.replace(
        "    steps: |\n      y = x ** 2\n      g = grad(y, x)[0]\n",
        "    steps: y = open(x)\n",
    ).replace("      g: {value: 6.0}\n", "")
    error = load_error(load_cases, text)
    assert error.location.line == 8
    assert "unknown function 'open'" in str(error)


def test_expectation_of_an_unknown_variable(load_cases: LoadCases) -> None:
    error = load_error(load_cases, replace_line(13, "      h: {value: 6.0}"))
    assert error.location.line == 13
    assert "expect.h: 'h' is neither an input nor assigned in steps" in str(error)


def test_an_input_may_be_expected(load_cases: LoadCases) -> None:
    case_file = load_cases(insert_after(13, "      x: {value: 3.0, grad_fn: false}"))
    assert [e.variable for e in case_file.cases[0].expect] == ["y", "g", "x"]


def test_expected_error_line_must_hold_a_statement(load_cases: LoadCases) -> None:
    error = load_error(load_cases, insert_after(10, "    raises: {line: 3, misuse: freed-graph}"))
    assert error.location.line == 11
    assert "key raises.line: no statement starts at line 3 of steps" in str(error)


def test_expected_error_match_must_be_a_regex(load_cases: LoadCases) -> None:
    error = load_error(
        load_cases,
        insert_after(10, "    raises: {line: 2, misuse: freed-graph, match: '(unclosed'}"),
    )
    assert error.location.line == 11
    assert "key raises.match" in str(error)


def test_expectation_after_the_expected_error(load_cases: LoadCases) -> None:
    error = load_error(load_cases, insert_after(10, "    raises: {line: 2, misuse: freed-graph}"))
    assert error.location.line == 14  # g's expectation, now one line lower
    assert "'g' is assigned only at or after the expected error (line 2)" in str(error)


def test_dtype_expectation_needs_a_pinned_dtype(load_cases: LoadCases) -> None:
    error = load_error(load_cases, replace_line(12, "      y: {value: 9.0, dtype: float64}"))
    assert error.location.line == 12
    assert "key expect.y.dtype" in str(error)
    pinned = insert_after(5, "    dtype: float64").replace(
        "{value: 9.0}", "{value: 9.0, dtype: float64}"
    )
    assert load_cases(pinned).cases[0].expect[0].dtype == "float64"


def test_convention_case_must_name_its_convention(load_cases: LoadCases) -> None:
    error = load_error(load_cases, replace_line(5, "    kind: convention"))
    assert error.location.line == 5
    assert "key convention" in str(error)
    named = insert_after(5, "    convention: {subgradient.relu: zero}")
    case = load_cases(named.replace("kind: math", "kind: convention")).cases[0]
    assert case.convention == {"subgradient.relu": "zero"}


def test_ragged_literal_is_located(load_cases: LoadCases) -> None:
    error = load_error(load_cases, replace_line(12, "      y: {value: [[1, 2], [3]]}"))
    assert error.location.line == 12
    assert "key expect.y.value" in str(error)


def test_null_value_and_grad_mean_none(load_cases: LoadCases) -> None:
    case = load_cases(replace_line(13, "      g: {value: 6.0, grad: null}")).cases[0]
    assert case.expect[1].grad is EXPECT_NONE
    assert case.expect[1].value == 6.0
    case = load_cases(replace_line(13, "      g: {value: null}")).cases[0]
    assert case.expect[1].value is EXPECT_NONE


def test_capabilities_are_inferred_and_added(load_cases: LoadCases) -> None:
    lines = [
        *VALID.splitlines()[:8],
        "      y = x ** 2",
        "      y.backward()",
        "    expect:",
        "      x: {grad: 6.0}",
        "      y: {grad_fn: true}",
    ]
    case = load_cases("\n".join(lines) + "\n").cases[0]
    assert case.capabilities == {"backward"}  # what the steps need: it gates the case
    assert case.checked_capabilities == {"grad-accumulation", "grad-fn"}  # what checks read
    higher = VALID.replace("grad(y, x)", "grad(y, x, create_graph=True)")
    assert load_cases(higher).cases[0].capabilities == {"higher-order"}
    added = insert_after(5, "    capabilities: [float64]")
    assert load_cases(added).cases[0].capabilities == {"float64"}


def test_iter_case_paths_finds_yaml_in_order(tmp_path: Path) -> None:
    for name in ("b/two.yaml", "a/one.yml", "a/notes.txt", "c.yaml"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")
    found = [path.relative_to(tmp_path).as_posix() for path in iter_case_paths(tmp_path)]
    assert found == ["a/one.yml", "b/two.yaml", "c.yaml"]
    assert list(iter_case_paths(tmp_path / "c.yaml")) == [tmp_path / "c.yaml"]


def test_display_path_defaults_to_the_path(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(VALID.replace("kind: math", "kind: maths"), encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        load_case_file(path)
    assert str(info.value).startswith(f"{path}:5")


def test_an_unforeseen_fault_of_the_loader_is_still_the_files_error(
    load_cases: LoadCases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One file must never stop a run, even through a bug of the loader: it is named as one."""

    def broken(*args: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr("conformance.loader.infer_capabilities", broken)
    error = load_error(load_cases, VALID)
    assert error.location.path == "cases.yaml"
    assert "a fault of the loader" in str(error)
    assert "KeyError" in str(error) and "a bug" in str(error)


def test_a_load_error_carries_none_of_the_loaders_frames(load_cases: LoadCases) -> None:
    """pytest prints the arguments of each frame of a failed setup; no YAML graph may be one."""
    error = load_error(load_cases, replace_line(7, "      x: {value: &a [1, *a]}"))
    frames = []
    tb = error.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert frames[-1] == "load_case_file"
    assert error.__cause__ is None and error.__suppress_context__


def test_a_long_literal_is_checked_without_the_schema_and_its_fault_located(
    load_cases: LoadCases,
) -> None:
    row = "[" + ", ".join(["0.5"] * 100) + "]"
    good = replace_line(12, f"      y: {{value: [{row}, {row}]}}")
    assert load_cases(good).cases[0].expect[0].variable == "y"
    bad = replace_line(12, f"      y: {{value: [{row}, {row.replace('0.5]', 'true, x]')}]}}")
    error = load_error(load_cases, bad)
    assert error.location.line == 12
    assert "expect.y.value" in str(error) and "'x'" in str(error)
    assert len(str(error)) < 1000


def test_the_compiled_schema_and_the_generic_validator_agree() -> None:
    """The compiled validator decides alone what it accepts: it must refuse what jsonschema does.

    Every bundled file, then each of its cases broken in one way at a time
    (a required key gone, an unknown key, a wrong type, a name outside a
    closed list) alone in a file, is put to both.
    """
    import copy

    import fastjsonschema
    import yaml

    from conformance.loader import _FAST_VALIDATOR, _validator

    def agree(document: Any) -> bool:
        try:
            _FAST_VALIDATOR(document)
            fast = True
        except fastjsonschema.JsonSchemaException:
            fast = False
        generic = not any(True for _ in _validator().iter_errors(document))
        return fast == generic

    breakers = [
        lambda case: case.pop("kind"),
        lambda case: case.update(unknown_key=1),
        lambda case: case.update(kind="mathematics"),
        lambda case: case.update(inputs=[1, 2]),
        lambda case: case.update(capabilities=["telepathy"]),
        lambda case: case.update(raises={"line": 1, "misuse": "a-typo"}),
        lambda case: case.update(raises={"line": 0, "misuse": "freed-graph"}),
        lambda case: case.update(expect={"y": {"value": [1, "x"]}}),
        lambda case: case.update(expect={"1y": {"value": 1.0}}),
        lambda case: case.update(convention={"subgradient": "torch"}),
        lambda case: case.update(tolerance={}),
    ]
    checked = 0
    for path in sorted(bundled_cases_dir().rglob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert agree(document), path
        for case in document["cases"][:2]:  # alone in a file, each broken in turn
            for brk in breakers:
                broken = {**document, "cases": [copy.deepcopy(case)]}
                brk(broken["cases"][0])
                assert agree(broken), (path, case["id"])
                checked += 1
    assert checked > 1000
