"""The YAML layer: safe parsing, duplicate keys rejected, and lines kept for every key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.errors import CaseFileError
from conformance.yamlsource import LocatedDict, LocatedList, LocatedStr, load_yaml

WriteCases = Callable[..., Path]


def test_lines_of_keys_values_and_items(write_cases: WriteCases) -> None:
    path = write_cases(
        """\
        top: 1
        nested:
          a: x
          b:
            - 10
            - 20
        text: |
          line one
          line two
        """,
    )
    document = load_yaml(path, "doc.yaml")
    assert isinstance(document, LocatedDict)
    assert document.line == 1
    assert document.key_lines == {"top": 1, "nested": 2, "text": 7}
    nested = document["nested"]
    assert isinstance(nested, LocatedDict)
    assert nested.key_lines == {"a": 3, "b": 4}
    items = nested["b"]
    assert isinstance(items, LocatedList)
    assert items == [10, 20]
    assert items.item_lines == [5, 6]
    text = document["text"]
    assert isinstance(text, LocatedStr)
    assert text == "line one\nline two\n"
    assert text.style == "|"
    assert text.line == 7


def test_duplicate_key_names_both_lines(write_cases: WriteCases) -> None:
    path = write_cases(
        """\
        cases:
          - id: a
            kind: math
            steps: y = x
            kind: semantics
        """,
    )
    with pytest.raises(CaseFileError) as info:
        load_yaml(path, "dup.yaml")
    error = info.value
    assert error.location.path == "dup.yaml"
    assert error.location.line == 5
    assert "duplicate key 'kind'" in str(error)
    assert "first at line 3" in str(error)
    assert str(error).startswith("dup.yaml:5:")


def test_duplicate_top_level_key(write_cases: WriteCases) -> None:
    path = write_cases('schema_version: "1.0"\nschema_version: "1.1"\n')
    with pytest.raises(CaseFileError, match=r"^d\.yaml:2:1: duplicate key 'schema_version'"):
        load_yaml(path, "d.yaml")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", 3),  # unclosed flow sequence, noticed on the next line
        ("a: 1\n  b: 2\n", 2),  # a mapping value where none may start
        ("a: 'unterminated\n", 2),  # the scanner reaches the end of the file
        ("a:\n\t- 1\n", 2),  # a tab as indentation
    ],
)
def test_syntax_error_is_located(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        load_yaml(path, "bad.yaml")
    assert info.value.location.line == line
    assert str(info.value).startswith(f"bad.yaml:{line}:")
    assert "YAML syntax" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['echo unsafe']\n",
        "a: !!python/name:os.system\n",
    ],
)
def test_python_tags_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "unsafe.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        load_yaml(path, "unsafe.yaml")
    assert info.value.location.line == 1


def test_non_string_keys_become_strings(write_cases: WriteCases) -> None:
    path = write_cases("1: one\ntrue: yes\n")
    document = load_yaml(path, "keys.yaml")
    assert set(document) == {"1", "True"}


def test_a_byte_that_is_not_utf8_is_located_at_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(CaseFileError) as info:
        load_yaml(path, "latin.yaml")
    assert (info.value.location.line, info.value.location.column) == (2, 7)
    assert "not UTF-8" in str(info.value) and "0xe9" in str(info.value)


def test_a_character_yaml_refuses_is_located(tmp_path: Path) -> None:
    path = tmp_path / "nul.yaml"
    path.write_text("a: 1\nb: x\x00y\n", encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        load_yaml(path, "nul.yaml")
    assert info.value.location.line == 2


@pytest.mark.parametrize(
    ("text", "line", "piece"),
    [
        ("a: 1\nb: !!float abc\n", 2, "'abc' as float"),
        ("a: 1\nb: !!timestamp tomorrow\n", 2, "'tomorrow' as timestamp"),
        ("a:\n  b: !!int 12x\n", 2, "'12x' as int"),
        ("a: " + "7" * 5000 + "\n", 1, "as int"),
    ],
)
def test_a_scalar_its_tag_cannot_read_is_located(
    tmp_path: Path, text: str, line: int, piece: str
) -> None:
    path = tmp_path / "tags.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        load_yaml(path, "tags.yaml")
    assert info.value.location.line == line
    assert piece in str(info.value)


def test_an_alias_bomb_is_refused_before_it_is_built(tmp_path: Path) -> None:
    lines = ["l0: &l0 [a, b, c, d, e, f, g, h, i, j]"]
    lines += [f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]" for n in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        load_yaml(path, "bomb.yaml")
    # l6 is the first part over 2,000,000 nodes: 1 + 10 * 1,111,111.
    assert info.value.location.line == 7
    assert "11,111,111 YAML nodes" in str(info.value)


def test_aliases_that_expand_a_file_past_their_limit_are_refused_at_the_costliest_anchor(
    tmp_path: Path,
) -> None:
    lines = ["l0: &l0 [a, b, c, d, e, f, g, h, i, j]"]
    lines += [f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]" for n in range(1, 5)]
    path = tmp_path / "aliases.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        load_yaml(path, "aliases.yaml")
    # 123,461 nodes expanded, 21 written: l3 (11,111 nodes, held 11 times) costs the most.
    assert info.value.location.line == 4
    assert "added to one file by expanding its aliases" in str(info.value)


def test_an_alias_inside_its_own_anchor_is_refused_at_the_anchor(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("a: 1\nb: &b\n  c: *b\n", encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        load_yaml(path, "loop.yaml")
    assert (info.value.location.line, info.value.location.column) == (2, 4)
    assert "alias to itself" in str(info.value)
