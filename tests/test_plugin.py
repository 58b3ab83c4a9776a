"""The pytest plugin, driven through pytester as a user drives it from the command line.

Every run collects the bundled spec besides ``--autograd-cases``, and loading
all of it costs more than the rest of a run. So by default each run here sees
an empty bundled spec (the ``spec_bundle`` fixture of conftest.py); tests
about the bundled spec ask for the documents' cases, or all of it, by marker.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

TESTS_DIR = Path(__file__).resolve().parent

#: Three true cases, in a topic folder of their own. Capabilities (inferred):
#: first-derivative needs none; second-derivative needs higher-order and
#: grad-fn; accumulated needs backward and grad-accumulation.
PROBE = """\
schema_version: "1.0"
cases:
  - id: first-derivative
    description: The derivative of x cubed is three x squared.
    kind: math
    inputs:
      x: {value: [1.0, 2.0], requires_grad: true}
    steps: |
      g = grad(sum(x ** 3), x)[0]
    expect:
      g: {value: [3.0, 12.0]}
  - id: second-derivative
    description: The second derivative of x cubed is six x.
    kind: math
    inputs:
      x: {value: [1.0, 2.0], requires_grad: true}
    steps: |
      g = grad(sum(x ** 3), x, create_graph=True)[0]
      h = grad(sum(g), x)[0]
    expect:
      g: {value: [3.0, 12.0], grad_fn: true}
      h: {value: [6.0, 12.0]}
  - id: accumulated
    description: Two backward passes add their gradients in .grad.
    kind: semantics
    inputs:
      x: {value: [1.0, 2.0], requires_grad: true}
    steps: |
      y = sum(x * 3)
      y.backward(retain_graph=True)
      y.backward()
    expect:
      x: {grad: [6.0, 6.0]}
"""

#: One false case: its line numbers are asserted below (id at 3, g at 12, y at 13).
WRONG = """\
schema_version: "1.0"
cases:
  - id: wrong-derivative
    description: A claim that the derivative of x cubed is something else.
    kind: math
    inputs:
      x: {value: [1.0, 2.0], requires_grad: true}
    steps: |
      y = sum(x ** 3)
      g = grad(y, x)[0]
    expect:
      g: {value: [3.0, 13.0]}
      y: {grad_fn: false}
"""

#: Steps line 2 raises in torch (a second pass through a freed graph); type and
#: message are wrong on purpose, so the case holds only outside strict mode.
STRICT_ONLY = """\
schema_version: "1.0"
cases:
  - id: freed-graph-any-error
    description: A second backward through a freed graph raises, of whatever type.
    kind: semantics
    inputs:
      x: {value: [1.0, 2.0], requires_grad: true}
    steps: |
      y = sum(x * x)
      y.backward()
      y.backward()
    raises: {line: 3, misuse: freed-graph, type: ValueError, match: "no such message"}
    expect:
      x: {grad: [2.0, 4.0]}
  - id: torch-names
    description: torch names the node of a product MulBackward0.
    kind: torch-detail
    inputs:
      x: {value: [1.0, 2.0], requires_grad: true}
    steps: |
      y = x * x
    expect:
      y: {grad_fn_name: MulBackward0}
"""

SINE = """\
schema_version: "1.0"
cases:
  - id: sine
    description: The derivative of sin is cos.
    kind: math
    inputs:
      x: {value: 0.0, requires_grad: true}
    steps: |
      g = grad(sin(x), x)[0]
    expect:
      g: {value: 1.0}
"""

PLAIN_TEST = """\
def test_one():
    assert 1 + 1 == 2

def test_two():
    assert "a" * 2 == "aa"
"""


def write(pytester: pytest.Pytester, relative: str, text: str) -> Path:
    path = pytester.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _small_bundle(spec_bundle: Path) -> Path:
    """Every run here sees the small bundle unless a test's marker asks for more."""
    return spec_bundle


@pytest.fixture
def probe(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester folder with the three true cases in spec/calculus/plugprobe.yaml."""
    write(pytester, "spec/calculus/plugprobe.yaml", PROBE)
    return pytester


def run_spec(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--autograd-backend=torch", "-p", "no:cacheprovider", *args)


def spec_lines(result: pytest.RunResult) -> list[str]:
    """Output lines that come from the plugin (the plugin list of the header aside)."""
    return [
        line for line in result.outlines if "autograd" in line and not line.startswith("plugins:")
    ]


def node_ids(result: pytest.RunResult) -> list[str]:
    """The node ids ``--collect-only -q`` printed."""
    return [line for line in result.outlines if "::" in line]


# Without a backend -----------------------------------------------------------


def test_without_backend_nothing_changes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain=PLAIN_TEST)
    write(pytester, "spec/calculus/plugprobe.yaml", PROBE)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert not spec_lines(result)
    collected = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    assert node_ids(collected) == ["test_plain.py::test_one", "test_plain.py::test_two"]
    markers = pytester.runpytest("--markers", "-p", "no:cacheprovider")
    assert not [line for line in markers.outlines if "autograd" in line]


def test_without_backend_cases_option_alone_does_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain=PLAIN_TEST)
    write(pytester, "spec/calculus/plugprobe.yaml", PROBE)
    result = pytester.runpytest("--autograd-cases=spec", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert not spec_lines(result)


def test_options_are_listed_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*--autograd-backend*",
            "*--autograd-strict*",
            "*--autograd-portable*",
            "*--autograd-cases*",
        ]
    )


# Configuration ----------------------------------------------------------------


def test_header_names_backend_and_settings(probe: pytest.Pytester) -> None:
    result = run_spec(probe, "--autograd-cases=spec", "-k", "plugprobe")
    result.stdout.fnmatch_lines(
        [
            f"autograd-spec: backend torch {torch.__version__} (torch), device cpu,"
            " dtype float32, strict on, schema 1.0",
            "autograd-spec: capabilities *backward*higher-order*",
        ]
    )
    result.assert_outcomes(passed=3)


def test_header_shows_dtype_and_strict(probe: pytest.Pytester) -> None:
    result = run_spec(
        probe,
        "--autograd-cases=spec",
        "-k",
        "plugprobe",
        "--autograd-dtype=float64",
        "--autograd-strict",
    )
    result.stdout.fnmatch_lines(["autograd-spec: *dtype float64, strict on*"])
    result.assert_outcomes(passed=3)


def test_ini_options(probe: pytest.Pytester) -> None:
    probe.makeini(
        """
        [pytest]
        autograd_backend = torch
        autograd_cases = spec
        """
    )
    result = probe.runpytest("-k", "plugprobe", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["autograd-spec: backend torch *"])
    result.assert_outcomes(passed=3)


def test_command_line_overrides_ini(probe: pytest.Pytester) -> None:
    probe.makeini(
        """
        [pytest]
        autograd_backend = no-such-engine
        autograd_dtype = float64
        """
    )
    result = probe.runpytest(
        "--autograd-backend=torch",
        "--autograd-dtype=float32",
        "--autograd-cases=spec",
        "-k",
        "plugprobe",
        "-p",
        "no:cacheprovider",
    )
    result.stdout.fnmatch_lines(["autograd-spec: backend torch *dtype float32*"])
    result.assert_outcomes(passed=3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--autograd-backend=no-such-engine"],
            "*unknown autograd backend 'no-such-engine'*torch*",
        ),
        (["--autograd-backend=no_such_module:Engine"], "*cannot import 'no_such_module'*"),
        (["--autograd-backend=pathlib:Path"], "*'Path' in 'pathlib' is not a*Backend*"),
        (["--autograd-backend=torch", "--autograd-dtype=float16"], "*--autograd-dtype*float16*"),
        (["--autograd-backend=torch", "--autograd-cases=missing"], "*--autograd-cases*missing*"),
    ],
)
def test_configuration_errors_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_unknown_capability_declared_by_adapter(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        typo_adapter="""
        from conformance.adapters.torch_backend import TorchBackend

        class Typo(TorchBackend):
            capabilities = frozenset({"backward", "hihger-order"})
        """
    )
    pytester.syspathinsert()
    result = pytester.runpytest("--autograd-backend=typo_adapter:Typo")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*hihger-order*"])


# Collection --------------------------------------------------------------------


@pytest.mark.bundle("all")
def test_item_names_are_file_and_case_id(probe: pytest.Pytester) -> None:
    result = run_spec(probe, "--autograd-cases=spec", "--collect-only", "-q")
    names = node_ids(result)
    probe_names = [name for name in names if name.startswith("spec/")]
    assert probe_names == [
        "spec/calculus/plugprobe.yaml::first-derivative",
        "spec/calculus/plugprobe.yaml::second-derivative",
        "spec/calculus/plugprobe.yaml::accumulated",
    ]
    # The bundled spec is there too, named from its own root.
    bundled = [name for name in names if not name.startswith("spec/")]
    assert bundled
    assert all(name.startswith("cases/") and ".yaml::" in name for name in bundled)
    assert any(name.startswith("cases/documents/") for name in bundled)


def test_case_file_given_directly(probe: pytest.Pytester) -> None:
    result = run_spec(
        probe,
        "--autograd-cases=spec/calculus/plugprobe.yaml",
        "--collect-only",
        "-q",
        "-k",
        "plugprobe",
    )
    assert node_ids(result)[0] == "spec/calculus/plugprobe.yaml::first-derivative"


def test_test_files_run_only_when_named(probe: pytest.Pytester) -> None:
    probe.makepyfile(test_plain=PLAIN_TEST)
    result = run_spec(probe, "--autograd-cases=spec", "--collect-only", "-q")
    assert not [name for name in node_ids(result) if name.startswith("test_plain.py")]
    named = run_spec(probe, "--autograd-cases=spec", "-k", "plugprobe or test_", "test_plain.py")
    named.assert_outcomes(passed=5)


def test_select_with_k(probe: pytest.Pytester) -> None:
    result = run_spec(probe, "--autograd-cases=spec", "-k", "plugprobe and second", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["spec/calculus/plugprobe.yaml::second-derivative PASSED*"])


@pytest.mark.parametrize(
    ("marker", "selected"),
    [
        ("cap_higher_order", ["second-derivative"]),
        ("cap_grad_accumulation", ["accumulated"]),
        ("cap_backward and not cap_higher_order", ["accumulated"]),
        ("kind_semantics", ["accumulated"]),
        ("kind_math", ["first-derivative", "second-derivative"]),
        ("topic_calculus", ["first-derivative", "second-derivative", "accumulated"]),
    ],
)
def test_select_with_m(probe: pytest.Pytester, marker: str, selected: list[str]) -> None:
    result = run_spec(
        probe, "--autograd-cases=spec", "-k", "plugprobe", "-m", marker, "--collect-only", "-q"
    )
    assert [name.split("::")[1] for name in node_ids(result)] == selected


def test_markers_are_registered(probe: pytest.Pytester) -> None:
    result = run_spec(probe, "--autograd-cases=spec", "-k", "plugprobe", "--strict-markers")
    result.assert_outcomes(passed=3)
    markers = run_spec(probe, "--markers")
    markers.stdout.fnmatch_lines(
        [
            "@pytest.mark.cap_grad_accumulation:*",
            "@pytest.mark.cap_higher_order:*",
            "@pytest.mark.kind_torch_detail:*",
        ]
    )


def test_broken_file_is_one_error_and_the_others_run(probe: pytest.Pytester) -> None:
    write(
        probe,
        "spec/calculus/plugprobe-broken.yaml",
        PROBE.replace("kind: semantics", "kind: [semantics"),
    )
    write(probe, "spec/calculus/plugprobe-schema.yaml", PROBE.replace("kind: math", "kind: maths"))
    result = run_spec(probe, "--autograd-cases=spec", "-k", "plugprobe")
    result.assert_outcomes(passed=3, errors=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    # The flow sequence opened on line 25 is found unclosed at line 26, where a key starts.
    assert "spec/calculus/plugprobe-broken.yaml:26" in output
    assert "YAML syntax" in output
    assert "spec/calculus/plugprobe-schema.yaml:5" in output
    assert "unknown key" not in output  # the schema message, not a confused one


def test_broken_file_error_shows_no_traceback(probe: pytest.Pytester) -> None:
    write(probe, "spec/calculus/plugprobe-broken.yaml", PROBE.replace("kind: math", "kind: maths"))
    result = run_spec(probe, "--autograd-cases=spec", "-k", "plugprobe-broken")
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "invalid case file: spec/calculus/plugprobe-broken.yaml:5" in output
    assert "Traceback" not in output
    assert "yamlsource.py" not in output and "loader.py" not in output
    assert "items.py" not in output and "plugin.py" not in output


# Running -------------------------------------------------------------------------


def test_failure_shows_yaml_location_and_each_mismatch(pytester: pytest.Pytester) -> None:
    write(pytester, "spec/calculus/plugprobe-wrong.yaml", WRONG)
    result = run_spec(pytester, "--autograd-cases=spec", "-k", "plugprobe")
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    path = "spec/calculus/plugprobe-wrong.yaml"
    result.stdout.fnmatch_lines(
        [
            f"{path}:3: case 'wrong-derivative' (math) does not hold on torch",
            "  rule: A claim that the derivative of x cubed is something else.",
            f"  - {path}:12: g: *expected 13, got 12*",
            f"  - {path}:13: y: expected no grad_fn, the backend reports one",
        ]
    )
    output = result.stdout.str()
    for internal in ("Traceback", "plugin.py", "items.py", "runner.py", "CaseFailure"):
        assert internal not in output
    result.stdout.fnmatch_lines(["FAILED spec/calculus/plugprobe-wrong.yaml::wrong-derivative*"])


def test_terminal_summary_by_capability(pytester: pytest.Pytester) -> None:
    write(pytester, "spec/calculus/plugprobe.yaml", PROBE)
    write(pytester, "spec/calculus/plugprobe-wrong.yaml", WRONG)
    result = run_spec(pytester, "--autograd-cases=spec", "-k", "plugprobe")
    result.assert_outcomes(passed=3, failed=1)
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "autograd conformance by capability" in line)
    rows = {}
    for line in lines[start + 2 :]:
        fields = line.split()
        if len(fields) < 4 or not fields[1].isdigit():
            break
        rows[fields[0]] = [int(value) for value in fields[1:4]]
    # passed, failed, skipped, by what the steps need: WRONG's steps need nothing
    # (its grad_fn check does not gate the case), and it fails.
    assert rows == {
        "(none)": [1, 1, 0],
        "backward": [1, 0, 0],
        "higher-order": [1, 0, 0],
    }


def test_strict_mode(pytester: pytest.Pytester) -> None:
    write(pytester, "spec/errors/plugprobe-strict.yaml", STRICT_ONLY)
    portable = ("--autograd-cases=spec", "-k", "plugprobe", "-rs", "--autograd-portable")
    lenient = run_spec(pytester, *portable)
    lenient.assert_outcomes(passed=1, skipped=1)
    lenient.stdout.fnmatch_lines(["SKIPPED*torch-detail case*strict*"])
    strict = run_spec(pytester, "--autograd-cases=spec", "-k", "plugprobe", "--autograd-strict")
    strict.assert_outcomes(passed=1, failed=1)
    strict.stdout.fnmatch_lines(
        ["*exception type (strict): expected ValueError, got RuntimeError*"]
    )
    # torch promises its own details, so strict is its default.
    by_default = run_spec(pytester, "--autograd-cases=spec", "-k", "plugprobe")
    by_default.assert_outcomes(passed=1, failed=1)
    pytester.makeini("[pytest]\nautograd_strict = false\n")
    from_ini = run_spec(pytester, "--autograd-cases=spec", "-k", "plugprobe")
    from_ini.assert_outcomes(passed=1, skipped=1)
    overridden = run_spec(pytester, "--autograd-cases=spec", "-k", "plugprobe", "--autograd-strict")
    overridden.assert_outcomes(passed=1, failed=1)


def test_skip_by_capability(probe: pytest.Pytester) -> None:
    probe.makepyfile(
        first_order="""
        from conformance.adapters.torch_backend import TorchBackend

        class FirstOrder(TorchBackend):
            name = "first-order"
            capabilities = TorchBackend.capabilities - {"higher-order"}
        """
    )
    probe.syspathinsert()
    result = probe.runpytest(
        "--autograd-backend=first_order:FirstOrder",
        "--autograd-cases=spec",
        "-k",
        "plugprobe",
        "-rs",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=2, skipped=1)
    assert result.ret == pytest.ExitCode.OK
    # The skip points at the case in its YAML file, not at the plugin's code.
    result.stdout.fnmatch_lines(
        ["SKIPPED [[]1[]] spec/calculus/*.yaml:*: backend 'first-order' lacks capability higher-*"]
    )


def test_not_supported_operation_is_a_skip_naming_it(pytester: pytest.Pytester) -> None:
    write(pytester, "spec/calculus/plugprobe-sine.yaml", SINE)
    pytester.syspathinsert(TESTS_DIR)
    result = pytester.runpytest(
        "--autograd-backend=broken_adapters:NoSine",
        "--autograd-cases=spec",
        "-k",
        "plugprobe",
        "-rs",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED [[]1[]] spec/calculus/plugprobe-sine.yaml:*does not support operation 'sin'*"]
    )


def test_adapter_raising_everywhere_fails_cases_without_crashing(probe: pytest.Pytester) -> None:
    probe.syspathinsert(TESTS_DIR)
    result = probe.runpytest(
        "--autograd-backend=broken_adapters:RaisesEverywhere",
        "--autograd-cases=spec",
        "-k",
        "plugprobe",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(failed=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "INTERNALERROR" not in output
    assert "creating the inputs: adapter error" in output
    assert "RuntimeError: tensor() is broken" in output
    assert "adapter traceback:" in output  # where it broke


@pytest.mark.bundle("documents")
@pytest.mark.parametrize(
    ("adapter", "must_fail"),
    [
        ("OverwritesGrad", "autograd-introduction.yaml::gradients-accumulate-until-zeroed"),
        ("IgnoresCreateGraph", "autograd-introduction.yaml::cube-first-and-second-derivative"),
        ("GradFnEverywhere", "autograd-introduction.yaml::no-grad-result-has-no-history"),
        ("NeverFreesGraph", "grad-signature.yaml::retain-graph-false-frees-the-graph"),
    ],
)
def test_broken_adapter_fails_the_suite(
    pytester: pytest.Pytester, adapter: str, must_fail: str
) -> None:
    pytester.syspathinsert(TESTS_DIR)
    result = pytester.runpytest(
        f"--autograd-backend=broken_adapters:{adapter}",
        "-m",
        "topic_documents",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"FAILED cases/documents/{must_fail}*"])


@pytest.mark.bundle("documents")
def test_reference_backend_passes_the_documents(pytester: pytest.Pytester) -> None:
    result = run_spec(pytester, "-m", "topic_documents")
    assert result.ret == pytest.ExitCode.OK
    assert result.parseoutcomes()["passed"] > 0
