"""Conventions are a closed vocabulary, in case files and in adapters alike."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from conformance.backend import Backend, check_capabilities
from conformance.conventions import CONVENTIONS
from conformance.errors import CaseFileError
from conformance.loader import case_schema, load_case_file


def test_the_schema_lists_exactly_the_conventions() -> None:
    case = case_schema()["$defs"]["case"]["properties"]["convention"]
    assert case["propertyNames"]["enum"] == list(CONVENTIONS)


def test_a_misspelt_convention_in_a_case_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "kinks.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            schema_version: "1.0"
            cases:
              - id: relu-at-zero
                description: The derivative of relu at 0 is 0 under torch's subgradient.
                kind: convention
                convention: {subgradiant: torch}
                inputs:
                  x: {value: 0.0, requires_grad: true}
                steps: |
                  g = grad(relu(x), x)[0]
                expect:
                  g: {value: 0.0}
            """
        ),
        encoding="utf-8",
    )
    with pytest.raises(CaseFileError) as raised:
        load_case_file(path, display="kinks.yaml")
    message = str(raised.value)
    assert "kinks.yaml:6" in message
    assert "relu-at-zero" in message
    assert "subgradiant" in message


def test_an_adapter_declaring_an_unknown_convention_is_rejected() -> None:
    class Misspelt(Backend):  # only the class attributes matter to the check
        name = "misspelt"
        conventions: ClassVar[Mapping[str, str]] = {"tie-breaking": "mine"}

    with pytest.raises(ValueError, match=r"unknown conventions \['tie-breaking'\]"):
        check_capabilities(Misspelt)


def test_an_adapter_declaring_known_conventions_passes() -> None:
    class Mine(Backend):
        name = "mine"
        conventions: ClassVar[Mapping[str, str]] = {"subgradient": "mine", "tie-break": "first"}

    check_capabilities(Mine)
