"""The compiled-case cache: used when the file is unchanged, never trusted otherwise."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest

import conformance.cache as cache_module
import conformance.loader as loader
from conformance.cache import CaseCache, cache_key
from conformance.loader import bundled_cases_dir, load_case_file

SOURCE = bundled_cases_dir() / "basic" / "elementary-rules.yaml"


@pytest.fixture
def case_file(tmp_path: Path) -> Path:
    path = tmp_path / "basic" / "rules.yaml"
    path.parent.mkdir()
    path.write_bytes(SOURCE.read_bytes())
    return path


def no_parsing(*args: Any) -> Any:
    raise AssertionError("the file was parsed again")


def test_an_unchanged_file_comes_from_the_cache_unparsed(
    case_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = CaseCache(tmp_path / "cache")
    first = load_case_file(case_file, "basic/rules.yaml", cache=cache)
    monkeypatch.setattr(loader, "_load_case_file", no_parsing)
    second = load_case_file(case_file, "basic/rules.yaml", cache=cache)
    assert second == first
    assert len(second.cases) == len(first.cases) > 5


def test_cached_cases_run_as_loaded_ones(tmp_path: Path) -> None:
    """``value: null`` is the EXPECT_NONE marker, compared with ``is``: it survives the cache."""
    pytest.importorskip("torch")
    from conformance.adapters.torch_backend import TorchBackend
    from conformance.model import EXPECT_NONE
    from conformance.runner import Outcome, run_case

    source = bundled_cases_dir() / "requires-grad" / "grad-errors.yaml"
    cache = CaseCache(tmp_path / "cache")
    load_case_file(source, "grad-errors.yaml", cache=cache)
    cached = load_case_file(source, "grad-errors.yaml", cache=cache)
    nones = [e for case in cached.cases for e in case.expect if e.value is EXPECT_NONE]
    assert nones  # the file expects a None gradient
    backend = TorchBackend()
    assert {run_case(case, backend).outcome for case in cached.cases} == {Outcome.PASSED}


def test_a_changed_file_a_new_name_or_a_new_version_is_loaded_again(
    case_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = CaseCache(tmp_path / "cache")
    load_case_file(case_file, "basic/rules.yaml", cache=cache)
    calls = []
    real = loader._load_case_file

    def counting(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(loader, "_load_case_file", counting)
    case_file.write_text(
        case_file.read_text(encoding="utf-8").replace("square-backward", "square-backwards"),
        encoding="utf-8",
    )
    assert load_case_file(case_file, "basic/rules.yaml", cache=cache).cases[0].id == (
        "square-backwards"
    )
    load_case_file(case_file, "elsewhere/rules.yaml", cache=cache)
    monkeypatch.setattr(cache_module, "__version__", "99.0")
    load_case_file(case_file, "basic/rules.yaml", cache=cache)
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_STEPS_STATEMENTS", "500")
    monkeypatch.setattr(cache_module, "__version__", "99.0")
    load_case_file(case_file, "basic/rules.yaml", cache=cache)
    assert len(calls) == 4


def test_a_corrupt_entry_is_ignored_and_replaced(case_file: Path, tmp_path: Path) -> None:
    cache = CaseCache(tmp_path / "cache")
    first = load_case_file(case_file, "basic/rules.yaml", cache=cache)
    (entry,) = (tmp_path / "cache").iterdir()
    entry.write_bytes(b"\x80\x05not a pickle at all")
    assert load_case_file(case_file, "basic/rules.yaml", cache=cache) == first
    assert cache.get(entry.stem) == first  # rewritten


class _Payload:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, ("touch pwned",))


def test_an_entry_that_names_anything_else_runs_nothing(
    case_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cache = CaseCache(tmp_path / "cache")
    key = cache_key(case_file.read_bytes(), "basic/rules.yaml", None)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / f"{key}.pickle").write_bytes(pickle.dumps((key, _Payload())))
    loaded = load_case_file(case_file, "basic/rules.yaml", cache=cache)
    assert not (tmp_path / "pwned").exists()
    assert loaded.cases[0].id == "square-backward"


def test_an_entry_under_another_key_is_not_taken(case_file: Path, tmp_path: Path) -> None:
    cache = CaseCache(tmp_path / "cache")
    other = load_case_file(SOURCE, "cases/basic/elementary-rules.yaml")
    key = cache_key(case_file.read_bytes(), "basic/rules.yaml", None)
    cache.put("0" * 64, other)
    os.replace(tmp_path / "cache" / f"{'0' * 64}.pickle", tmp_path / "cache" / f"{key}.pickle")
    loaded = load_case_file(case_file, "basic/rules.yaml", cache=cache)
    assert loaded.path == "basic/rules.yaml"


def test_the_plugin_keeps_loaded_files_in_pytests_cache_folder(pytester: pytest.Pytester) -> None:
    (pytester.path / "mine").mkdir()
    (pytester.path / "mine" / "mine-only.yaml").write_bytes(SOURCE.read_bytes())
    args = ("--autograd-backend=torch", "--autograd-cases=mine", "-k", "mine-only")
    first = pytester.runpytest_subprocess(*args)
    first.assert_outcomes(passed=10)
    folder = pytester.path / ".pytest_cache" / "d" / "autograd-spec"
    entries = sorted(folder.glob("*.pickle"))
    assert len(entries) > 40  # the bundled files and ours
    for entry in entries:
        entry.write_bytes(b"garbage")
    second = pytester.runpytest_subprocess(*args)
    second.assert_outcomes(passed=10)
