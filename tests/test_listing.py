"""``python -m conformance backends``: built-in and entry-point adapters, versions, capabilities."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sample_adapters.spec_files import ADAPTERS

from conformance.capabilities import CAPABILITIES


def backends(*args: str, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command in a fresh interpreter, so entry points are read from ``path`` too."""
    env = dict(os.environ)
    extra = [str(ADAPTERS)] + ([str(path)] if path else [])
    env["PYTHONPATH"] = os.pathsep.join([*extra, env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "conformance", "backends", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def register(tmp_path: Path, entries: dict[str, str]) -> Path:
    """A distribution that registers adapters under the entry-point group, as a vendor's would."""
    info = tmp_path / "vendor_pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vendor-pkg\nVersion: 1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[pytest_autograd_spec.backends]\n{lines}")
    return tmp_path


def test_the_builtin_torch_adapter_is_listed_with_version_and_capabilities() -> None:
    import torch

    result = backends()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "torch  (built-in: conformance.adapters.torch_backend:TorchBackend)"
    assert lines[1] == f"  version: {torch.__version__}"
    assert lines[2] == f"  capabilities: {', '.join(sorted(CAPABILITIES))}"


def test_entry_point_adapters_are_listed_with_what_they_lack(tmp_path: Path) -> None:
    path = register(
        tmp_path,
        {
            "wrongmul": "sample_backends:WrongMulBackend",
            "honest": "sample_backends:HonestBackend",
            "missing": "no_such_module:Backend",
        },
    )
    result = backends("--json", path=path)
    assert result.returncode == 0, result.stderr
    listed = {info["name"]: info for info in json.loads(result.stdout)}
    assert set(listed) == {"torch", "wrongmul", "honest", "missing"}
    assert listed["wrongmul"]["source"] == "entry point"
    assert listed["wrongmul"]["version"] == "9.9"
    assert "backward" not in listed["honest"]["capabilities"]
    assert listed["missing"]["problem"].startswith("backend 'missing': cannot import")
    text = backends(path=path).stdout
    assert "honest  (entry point: sample_backends:HonestBackend)\n" in text
    assert "  lacks: backward\n" in text


def test_an_entry_point_name_selects_the_adapter_in_a_run(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = register(tmp_path, {"wrongmul": "sample_backends:WrongMulBackend"})
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ADAPTERS), str(path)]))
    result = pytester.runpytest_subprocess(
        "--autograd-backend=wrongmul", "-k", "no-case-has-this-name", "-p", "no:cacheprovider"
    )
    result.stdout.fnmatch_lines(["autograd-spec: backend wrongmul 9.9 (wrongmul)*"])
