"""Safe YAML loading that remembers where every mapping key stands.

PyYAML's ``SafeLoader`` never builds arbitrary objects; on top of it this
loader rejects duplicate keys (a silent overwrite hides typos) and keeps the
line of each key and value so that schema errors can be reported at the line
an author wrote.

It also keeps a hostile file cheap: the file is read up to the byte limit,
bytes that are not UTF-8 are a located error, and the composed document is
measured (aliases expanded, nesting depth) before any Python object is built
from it, so a few hundred bytes of aliases cannot expand to millions of
values (conformance.limits).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from conformance.errors import CaseFileError, Location
from conformance.limits import ALIAS_NODES, FILE_BYTES, YAML_DEPTH, YAML_NODES, LimitExceeded


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

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Any scalar that cannot be read (``!!float abc``, an int of 5,000 digits) is located."""
        try:
            return super().construct_object(node, deep=deep)
        except (CaseFileError, yaml.MarkedYAMLError):
            raise
        except Exception as exc:
            raise CaseFileError(_node_location(self.path, node), _unreadable(node, exc)) from None

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
                    _node_location(self.path, key_node),
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


def _node_location(path: str, node: yaml.Node) -> Location:
    return Location(path, node.start_mark.line + 1, node.start_mark.column + 1)


def _unreadable(node: yaml.Node, exc: Exception) -> str:
    """What is wrong with a node PyYAML's constructors failed on (their errors vary)."""
    tag = str(node.tag).rsplit(":", 1)[-1]
    if not isinstance(node, yaml.ScalarNode):
        return f"YAML: cannot read this node as {tag}"
    text = str(node.value)
    shown = repr(text if len(text) <= 40 else text[:37] + "...")
    reason = f": {exc}" if isinstance(exc, ValueError) and str(exc) != repr(text) else ""
    return f"YAML: cannot read {shown} as {tag}{reason}"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_tree_limits(root: yaml.Node, display_path: str) -> None:
    """check_node_limits for a document without anchors, a tree: one pass, no bookkeeping.

    Nothing is shared in a tree, so its size is its number of nodes and the
    first node found below the depth limit is where it is too deep; only a
    tree over the size limit pays for the general check, which locates it.
    """
    max_nodes = YAML_NODES.value()
    max_depth = YAML_DEPTH.value()
    count = 0
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > max_depth:
            over = LimitExceeded(YAML_DEPTH, depth, max_depth, "this part of the file")
            raise CaseFileError(_node_location(display_path, node), str(over))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
    if count > max_nodes:
        check_node_limits(root, display_path)  # finds and locates the smallest part over it


def check_node_limits(root: yaml.Node, display_path: str) -> None:
    """Refuse a document too large or too deep before anything is built from it.

    Aliases make the composed document a graph whose nodes may be shared, so
    a few hundred bytes can stand for millions of values: each node's size is
    counted with its aliases expanded (once per node, so the count itself is
    linear) and its height measured, without recursion. The error points at
    the smallest part of the document that is over the limit.
    """
    max_nodes = YAML_NODES.value()
    max_depth = YAML_DEPTH.value()
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    started: set[int] = set()  # the nodes whose subtree is being counted: the ancestors
    references: dict[int, int] = {}  # how many parents hold each node: more than one is an alias
    nodes: dict[int, yaml.Node] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _children(node)
        if finished:
            started.discard(key)
            nodes[key] = node
            for child in children:
                references[id(child)] = references.get(id(child), 0) + 1
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            heights[key] = 1 + max((heights[id(child)] for child in children), default=0)
            if sizes[key] > max_nodes:
                over = LimitExceeded(YAML_NODES, sizes[key], max_nodes, "this part of the file")
                raise CaseFileError(_node_location(display_path, node), str(over))
            if heights[key] > max_depth:
                over = LimitExceeded(YAML_DEPTH, heights[key], max_depth, "this part of the file")
                raise CaseFileError(_node_location(display_path, node), str(over))
            continue
        if key in sizes:
            continue
        if key in started:
            raise CaseFileError(
                _node_location(display_path, node),
                "YAML: the node anchored here contains an alias to itself",
            )
        started.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    _check_aliases(sizes[id(root)] - len(sizes), references, nodes, sizes, display_path)


def _check_aliases(
    added: int,
    references: dict[int, int],
    nodes: dict[int, yaml.Node],
    sizes: dict[int, int],
    display_path: str,
) -> None:
    """Refuse a file whose aliases expand it by more than the limit, at its costliest anchor."""
    limit = ALIAS_NODES.value()
    if added <= limit:
        return
    shared = [key for key, count in references.items() if count > 1]
    worst = max(shared, key=lambda key: sizes[key] * (references[key] - 1))
    over = LimitExceeded(ALIAS_NODES, added, limit, "this file's aliases")
    raise CaseFileError(_node_location(display_path, nodes[worst]), str(over))


def read_source(path: Path, display_path: str) -> str:
    """The text of a file of at most the byte limit; bytes that are not UTF-8 are located."""
    limit = FILE_BYTES.value()
    try:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CaseFileError(Location(display_path), f"cannot be read: {exc.strerror}") from None
    if len(data) > limit:
        try:
            size = path.stat().st_size
        except OSError:
            size = len(data)
        try:
            FILE_BYTES.check(max(size, len(data)), "this file")
        except LimitExceeded as exc:
            raise CaseFileError(Location(display_path), str(exc)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise CaseFileError(
            Location(display_path, line, column),
            f"not UTF-8: the byte 0x{byte} at byte offset {exc.start} ({exc.reason});"
            " case files are UTF-8 text",
        ) from None


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset (for errors that carry only an offset)."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def parse_yaml(text: str, display_path: str) -> Any:
    """Parse YAML text within the limits; every problem is a located CaseFileError."""
    loader = _LocatingLoader(text)
    loader.path = display_path
    try:
        try:
            root = loader.get_single_node()
        except RecursionError:
            raise CaseFileError(
                Location(display_path),
                f"YAML: nested too deeply (more than {YAML_DEPTH.value()} levels)",
            ) from None
        if root is None:
            return None
        if "&" in text:  # an anchor, so perhaps aliases: the document may be a graph
            check_node_limits(root, display_path)
        else:
            check_tree_limits(root, display_path)
        return loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        column = mark.column + 1 if mark else 0
        problem = exc.problem or exc.context or "invalid YAML"
        raise CaseFileError(
            Location(display_path, line, column), f"YAML syntax: {problem}"
        ) from None
    except yaml.reader.ReaderError as exc:
        line, column = _position(text, exc.position)
        raise CaseFileError(
            Location(display_path, line, column),
            f"YAML: {exc.reason}: {chr(exc.character)!r}",
        ) from None
    except yaml.YAMLError as exc:
        raise CaseFileError(Location(display_path), f"YAML: {exc}") from None
    finally:
        loader.dispose()


def load_yaml(path: Path, display_path: str) -> Any:
    """Read and parse one YAML file; every problem is a located CaseFileError."""
    return parse_yaml(read_source(path, display_path), display_path)
