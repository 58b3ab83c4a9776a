"""Bounded matching of a case's ``raises.match`` pattern against an error message.

Python's regular expressions backtrack: ``(.|.)*QQQQ`` takes exponential time
on a message of a hundred characters, and a case file from anyone must not
be able to hang the harness. So a pattern is checked when its file loads: at
most one repetition, none nested in another and no alternation inside it, no
back-references. Searching such a pattern costs at most the square of the
message's length, and only the first :data:`MESSAGE_LIMIT` characters of a
message are searched.
"""

from __future__ import annotations

import re
import sys
from typing import Any

if sys.version_info >= (3, 11):
    import re._constants as _constants
    import re._parser as _parser
else:  # pragma: no cover - Python 3.10
    import sre_constants as _constants
    import sre_parse as _parser

MESSAGE_LIMIT = 2000

_REPEATS = {
    _constants.MAX_REPEAT,
    _constants.MIN_REPEAT,
    *([_constants.POSSESSIVE_REPEAT] if hasattr(_constants, "POSSESSIVE_REPEAT") else []),
}


def _walk(items: Any, inside_repeat: bool, counts: dict[str, int]) -> str | None:
    for op, argument in items:
        if op in _REPEATS:
            if inside_repeat:
                return "a repetition inside a repetition"
            counts["repeat"] += 1
            problem = _walk(argument[2], True, counts)
        elif op is _constants.BRANCH:
            if inside_repeat:
                return "an alternation inside a repetition"
            problem = None
            for branch in argument[1]:
                problem = problem or _walk(branch, inside_repeat, counts)
        elif op is _constants.SUBPATTERN:
            problem = _walk(argument[-1], inside_repeat, counts)
        elif op in (_constants.GROUPREF, _constants.GROUPREF_EXISTS):
            return "a back-reference"
        elif op in (_constants.ASSERT, _constants.ASSERT_NOT):
            problem = _walk(argument[1], inside_repeat, counts)
        else:
            problem = None
        if problem:
            return problem
    return None


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid bounded pattern, or None when it is."""
    try:
        re.compile(pattern)
        parsed = _parser.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"not a regular expression: {exc}"
    counts = {"repeat": 0}
    problem = _walk(parsed, False, counts)
    if problem is None and counts["repeat"] > 1:
        problem = f"{counts['repeat']} repetitions"
    if problem:
        return (
            f"{problem}: a pattern may repeat at most one thing, not nested and without"
            " alternation inside it, and use no back-references, so that matching is bounded"
        )
    return None


def message_matches(pattern: str, message: str) -> bool:
    """Search a pattern that passed :func:`pattern_problem` in a message, boundedly."""
    return re.search(pattern, message[:MESSAGE_LIMIT]) is not None
