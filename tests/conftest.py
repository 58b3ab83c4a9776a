"""Fixtures shared by the core's tests: case files written on the fly, and the reference backend.

Most tests state a case as YAML text right where it is checked, so a reader
sees the input and the expected complaint side by side; these fixtures only
take care of writing that text to a file and loading it.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.backend import Backend
from conformance.loader import load_case_file
from conformance.model import Case, CaseFile

WriteCases = Callable[..., Path]
LoadCases = Callable[..., CaseFile]


def dedent(text: str) -> str:
    """Strip the common indentation of a YAML text written inside a test function."""
    return textwrap.dedent(text).lstrip("\n")


@pytest.fixture
def write_cases(tmp_path: Path) -> WriteCases:
    """Write YAML text (dedented) to a file under a fresh folder and return its path."""

    def write(text: str, name: str = "cases.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def load_cases(write_cases: WriteCases) -> LoadCases:
    """Write YAML text to ``cases.yaml`` and load it; the display path is ``cases.yaml``."""

    def load(text: str, name: str = "cases.yaml") -> CaseFile:
        return load_case_file(write_cases(text, name), display=name)

    return load


@pytest.fixture
def load_case(load_cases: LoadCases) -> Callable[[str], Case]:
    """Load a file of exactly one case and return that case."""

    def load(text: str) -> Case:
        case_file = load_cases(text)
        assert len(case_file.cases) == 1
        return case_file.cases[0]

    return load


@pytest.fixture(scope="session")
def torch_backend() -> Backend:
    """The reference adapter; built once, it keeps no state between cases."""
    from conformance.adapters.torch_backend import TorchBackend

    return TorchBackend()


@pytest.fixture
def spec_bundle(
    request: pytest.FixtureRequest, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The folder the plugin takes for the bundled spec in this test's pytester runs.

    Loading the whole bundled spec costs more than the rest of a small run, so
    a test that is about its own case files can ask for an empty bundle. Empty
    by default; a test marked ``bundle("documents")`` gets a copy of the
    documents' cases under their usual names, ``bundle("all")`` the real spec.
    Only in-process runs (``pytester.runpytest``) see the substitute.
    """
    from conformance.loader import bundled_cases_dir

    marker = request.node.get_closest_marker("bundle")
    which = marker.args[0] if marker else "none"
    real = bundled_cases_dir()
    if which == "all":
        return real
    folder = pytester.path.parent / f"{pytester.path.name}-bundle"
    folder.mkdir()
    if which == "documents":
        shutil.copytree(real / "documents", folder / "documents")
    monkeypatch.setattr("pytest_autograd_spec.plugin.bundled_cases_dir", lambda: folder)
    return folder


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "bundle(which): the bundled spec the plugin sees in pytester runs: none (default),"
        " documents or all (see the spec_bundle fixture)",
    )
