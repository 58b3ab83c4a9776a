"""Naming a backend: every way it can go wrong is one usage error that says where."""

from __future__ import annotations

import pytest

# In-process pytester runs drop the modules a run imported, and torch cannot be
# imported twice in one process: import it before any run.
import conformance.adapters.torch_backend  # noqa: F401
from conformance.errors import BackendConfigError
from conformance.registry import resolve_backend

ADAPTER = """
from conformance.backend import Backend


class MyBackend(Backend):
    name = "mine"
"""


@pytest.fixture
def adapters(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(
        good_adapter=ADAPTER,
        broken_syntax="class MyBackend(:\n    pass\n",
        raises_on_import="raise RuntimeError('no device library found')\n",
    )
    pytester.syspathinsert()
    return pytester


def test_a_syntax_error_in_the_adapter_names_its_file_and_line(adapters: pytest.Pytester) -> None:
    with pytest.raises(BackendConfigError) as info:
        resolve_backend("broken_syntax:MyBackend")
    assert "broken_syntax.py:1: SyntaxError" in str(info.value)


def test_an_adapter_module_that_raises_on_import_says_what_and_where(
    adapters: pytest.Pytester,
) -> None:
    with pytest.raises(BackendConfigError) as info:
        resolve_backend("raises_on_import:MyBackend")
    assert "RuntimeError: no device library found" in str(info.value)
    assert "raises_on_import.py:1" in str(info.value)


def test_a_misspelled_class_name_is_named_as_missing_with_a_suggestion(
    adapters: pytest.Pytester,
) -> None:
    with pytest.raises(BackendConfigError) as info:
        resolve_backend("good_adapter:MyBackednd")
    message = str(info.value)
    assert "has no 'MyBackednd'" in message and "did you mean 'MyBackend'?" in message
    assert "not a subclass" not in message


def test_the_plugin_reports_a_broken_adapter_module_as_a_usage_error(
    adapters: pytest.Pytester,
) -> None:
    result = adapters.runpytest("--autograd-backend=broken_syntax:MyBackend")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*broken_syntax.py:1: SyntaxError*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_the_header_says_when_test_files_are_left_out(pytester: pytest.Pytester) -> None:
    """With the backend set in the ini file, a bare `pytest` runs the spec, not the tests."""
    pytester.makeini("[pytest]\nautograd_backend = torch\n")
    pytester.makepyfile(test_mine="def test_mine():\n    assert True\n")
    bare = pytester.runpytest("--collect-only", "-k", "nothing-matches-this")
    bare.stdout.fnmatch_lines(["*test files are collected when named on the command line*"])
    named = pytester.runpytest("test_mine.py", "-p", "no:cacheprovider", "-k", "test_mine")
    named.assert_outcomes(passed=1)  # the test ran (the spec's cases are deselected by -k)
    assert "test files are collected when named" not in named.stdout.str()
