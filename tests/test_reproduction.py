"""The reproduction line of a report reproduces: run as printed, it runs that one case again.

It is run here through a shell, from the folder of a ``module:Class``
backend that only ``python -m pytest`` can import, with case ids and file
names chosen so that a plain substring ``-k`` would select more than one case.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from conformance.report.model import CaseRecord, RunReport, load_report
from conformance.report.summary import reproduction

ADAPTER = """\
from conformance.adapters.torch_backend import TorchBackend


class Mine(TorchBackend):
    name = "mine"
"""

CASE = """\
  - id: {id}
    description: relu passes the gradient where its input is positive.
    kind: math
    inputs:
      x: {{value: 2.0, requires_grad: true}}
    steps: |
      g = grad(relu(x), x)[0]
    expect:
      g: {{value: 1.0}}
"""


def write_spec(folder: Path, relative: str, *ids: str) -> None:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    cases = "".join(CASE.format(id=case_id) for case_id in ids)
    path.write_text(f'schema_version: "1.0"\ncases:\n{cases}', encoding="utf-8")


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command line as a user would, with this interpreter's ``python`` first on PATH."""
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    env.pop("PYTHONPATH", None)  # the adapter must import from the folder alone
    return subprocess.run(
        command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_reproduction_line_of_a_module_class_backend_runs_exactly_its_case(
    tmp_path: Path,
) -> None:
    (tmp_path / "myadapter.py").write_text(ADAPTER, encoding="utf-8")
    # Rivals of spec/kinks/kinks.yaml::relu-at-zero: a longer id in its file, the same id in
    # a file of the same name under another folder, and the bundled kinks.yaml's relu-at-zero.
    write_spec(tmp_path, "spec/kinks/kinks.yaml", "relu-at-zero", "relu-at-zero-twice")
    write_spec(tmp_path, "spec/kinks-more/kinks.yaml", "relu-at-zero")
    run = shell(
        "python -m pytest --autograd-backend=myadapter:Mine --autograd-cases=spec"
        " -k kinks.yaml --autograd-report=run.json -p no:cacheprovider",
        tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = load_report(tmp_path / "run.json")
    ids = [case.nodeid for case in report.cases]
    target = "spec/kinks/kinks.yaml::relu-at-zero"
    assert {target, "cases/nondifferentiable/kinks.yaml::relu-at-zero"} <= set(ids)
    (record,) = [case for case in report.cases if case.nodeid == target]

    command = reproduction(report, record)
    assert command.startswith("python -m pytest --autograd-backend=myadapter:Mine ")
    again = shell(f"{command} -rA -p no:cacheprovider", tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    ran = re.findall(r"^(?:PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)", again.stdout, re.M)
    assert ran == [target]


def test_plain_pytest_cannot_import_the_same_backend(tmp_path: Path) -> None:
    # Why the line says python -m pytest: plain pytest does not put the folder on sys.path.
    (tmp_path / "myadapter.py").write_text(ADAPTER, encoding="utf-8")
    plain = shell(
        f"{shlex.quote(str(Path(sys.executable).parent / 'pytest'))}"
        " --autograd-backend=myadapter:Mine --collect-only -q -p no:cacheprovider",
        tmp_path,
    )
    assert plain.returncode != 0
    assert "myadapter" in plain.stdout + plain.stderr


def report_for(backend_spec: str, device: str, path: str) -> tuple[RunReport, CaseRecord]:
    record = CaseRecord(
        id="relu-at-zero",
        nodeid=f"{path}::relu-at-zero",
        path=path,
        line=3,
        topic="odd folder",
        kind="convention",
        description="-",
        capabilities=[],
        outcome="failed",
    )
    report = RunReport(
        backend="odd",
        backend_spec=backend_spec,
        backend_version="1",
        device=device,
        dtype="float64",
        strict=False,
        spec_version="1.0",
        tool_version="0",
        capabilities=[],
        cases=[record],
    )
    return report, record


def test_spaces_quotes_and_dollars_reach_pytest_as_they_were(tmp_path: Path) -> None:
    backend = 'my adapters.it\'s:Odd "One"'
    device = "dev $(touch pwned) `touch pwned2`"
    path = "my cases/it's.yaml"
    report, record = report_for(backend, device, path)
    command = reproduction(report, record)
    # The shell hands printf exactly the arguments pytest would get, and runs nothing else.
    printed = shell(command.replace("python -m pytest", "printf '%s\\n'", 1), tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.splitlines() == [
        f"--autograd-backend={backend}",
        f"--autograd-device={device}",
        "--autograd-dtype=float64",
        "--autograd-portable",
        f"--autograd-cases={path}",
        "-k",
        "relu-at-zero",
    ]
    assert not list(tmp_path.iterdir())


def test_the_selection_names_the_id_and_its_file_and_folder() -> None:
    report, record = report_for("torch", "cpu", "cases/nondifferentiable/kinks.yaml")
    record.topic = "nondifferentiable"
    assert shlex.split(reproduction(report, record))[-2:] == [
        "-k",
        "kinks.yaml and relu-at-zero and topic_nondifferentiable",
    ]
