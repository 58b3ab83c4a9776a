"""Safe YAML loading that remembers where every mapping key stands.

PyYAML's ``SafeLoader`` never builds arbitrary objects; on top of it this
loader rejects duplicate keys (a silent overwrite hides typos) and keeps the
line of each key and value so that schema errors can be reported at the line
an author wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from conformance.errors import CaseFileError, Location


class LocatedDict(dict[str, Any]):
    """A mapping from YAML that knows the 1-based line of itself and each key."""

    line: int
    key_lines: dict[str, int]
    value_lines: dict[str, int]


class LocatedList(list[Any]):
    """A sequence from YAML that knows its own line and each item's line."""

    line: int
    item_lines: list[int]


class LocatedStr(str):
    """A scalar string that knows where its text starts (block scalars included)."""

    line: int
    style: str | None


# libyaml's parser (when PyYAML was built with it) is several times faster and
# still records marks; the constructors, which are what keeps loading safe, are
# the same Python SafeConstructor either way.
if TYPE_CHECKING:
    _SafeBase = yaml.SafeLoader
else:
    _SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LocatingLoader(_SafeBase):
    path: str

    def construct_mapping(  # type: ignore[override]
        self, node: yaml.MappingNode, deep: bool = False
    ) -> LocatedDict:
        result = LocatedDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        result.value_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                raise CaseFileError(
                    Location(
                        self.path, key_node.start_mark.line + 1, key_node.start_mark.column + 1
                    ),
                    f"duplicate key {key!r} (first at line {result.key_lines[key]})",
                )
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
            result.value_lines[key] = value_node.start_mark.line + 1
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LocatedList:
        result = LocatedList(self.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result

    def construct_yaml_str(self, node: yaml.ScalarNode) -> LocatedStr:
        text = LocatedStr(self.construct_scalar(node))
        text.line = node.start_mark.line + 1
        text.style = node.style
        return text


_LocatingLoader.add_constructor("tag:yaml.org,2002:map", _LocatingLoader.construct_mapping)
_LocatingLoader.add_constructor("tag:yaml.org,2002:seq", _LocatingLoader.construct_sequence)
_LocatingLoader.add_constructor("tag:yaml.org,2002:str", _LocatingLoader.construct_yaml_str)


def load_yaml(path: Path, display_path: str) -> Any:
    """Parse one YAML file; a syntax error becomes a located CaseFileError."""
    text = path.read_text(encoding="utf-8")
    loader = _LocatingLoader(text)
    loader.path = display_path
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        column = mark.column + 1 if mark else 0
        problem = exc.problem or exc.context or "invalid YAML"
        raise CaseFileError(
            Location(display_path, line, column), f"YAML syntax: {problem}"
        ) from None
    except yaml.YAMLError as exc:
        raise CaseFileError(Location(display_path), f"YAML: {exc}") from None
    finally:
        loader.dispose()
