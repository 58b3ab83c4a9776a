"""Known-failure and skip lists: the file format, and how they gate a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_adapters.spec_files import BACKWARD, PRODUCT, SUM, spec_args, write_sample

from conformance.knownfail import KnownListError, load_known_list


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# The file format ---------------------------------------------------------------------------


def test_entries_keep_reason_and_line(tmp_path: Path) -> None:
    known = load_known_list(
        write(
            tmp_path / "xfails.yaml",
            "views are copies:\n  - cases/views/*.yaml::*\n  - '*::second-backward-*'\n"
            "no float64: sum-rule\n",
        ),
        "xfails.yaml",
    )
    assert [(e.pattern, e.reason, e.location.line) for e in known.entries] == [
        ("cases/views/*.yaml::*", "views are copies", 2),
        ("*::second-backward-*", "views are copies", 3),
        ("sum-rule", "no float64", 4),
    ]


@pytest.mark.parametrize(
    ("nodeid", "reason"),
    [
        ("cases/views/basic.yaml::slice-grad", "views"),
        ("cases/graph/free.yaml::second-backward-raises", "graph"),
        ("sample/harness-sample.yaml::sum-rule", "by id"),
        ("cases/views/basic.yaml::sum-rule", "views"),  # the first matching entry wins
        ("cases/graph/free.yaml::sum-rule-2", None),  # an id without :: is matched whole
        ("other/views/basic.yaml::x", None),
    ],
)
def test_patterns_match_node_ids_or_case_ids(
    tmp_path: Path, nodeid: str, reason: str | None
) -> None:
    known = load_known_list(
        write(
            tmp_path / "list.yaml",
            "views: ['cases/views/*.yaml::*']\n"
            "graph: ['*::second-backward-*']\n"
            "by id: [sum-rule]\n",
        )
    )
    assert known.reason_for(nodeid) == reason


def test_unmatched_entries_are_reported(tmp_path: Path) -> None:
    known = load_known_list(write(tmp_path / "list.yaml", "r: [a-case, '*::gone-*']\n"))
    stale = known.unmatched(["x.yaml::a-case", "x.yaml::other"])
    assert [entry.pattern for entry in stale] == ["*::gone-*"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "list.yaml:1: expected a mapping from reason"),
        ("reason: {a: b}\n", "list.yaml:1: reason 'reason': expected a list of case patterns"),
        ("reason:\n  - ok\n  - 3\n", "list.yaml:3: reason 'reason': a pattern must be"),
        ("r: [a]\nr: [b]\n", "list.yaml:2:1: duplicate key 'r'"),
    ],
)
def test_bad_files_are_located(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(KnownListError) as info:
        load_known_list(write(tmp_path / "list.yaml", text), "list.yaml")
    assert str(info.value).startswith(message)


def test_an_empty_file_lists_nothing(tmp_path: Path) -> None:
    assert load_known_list(write(tmp_path / "list.yaml", "")).entries == ()


# Gating a run ------------------------------------------------------------------------------


@pytest.fixture
def sample(pytester: pytest.Pytester) -> pytest.Pytester:
    write_sample(pytester)
    return pytester


def test_without_a_list_a_divergence_fails_the_run(sample: pytest.Pytester) -> None:
    result = sample.runpytest(*spec_args("WrongMulBackend"))
    result.assert_outcomes(passed=2, failed=1, deselected=result.parseoutcomes()["deselected"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"FAILED {PRODUCT}*"])


def test_a_listed_failure_is_xfail_and_the_run_passes(sample: pytest.Pytester) -> None:
    write(sample.path / "xfails.yaml", "mul adds (engine issue 7):\n  - '*::product-*'\n")
    result = sample.runpytest(*spec_args("WrongMulBackend", "--autograd-xfails=xfails.yaml", "-rx"))
    outcomes = result.parseoutcomes()
    assert (outcomes.get("xfailed"), outcomes.get("passed"), outcomes.get("failed")) == (1, 2, None)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"XFAIL {PRODUCT} - mul adds (engine issue 7)"])


def test_a_listed_case_that_passes_fails_as_strict_xpass(sample: pytest.Pytester) -> None:
    write(sample.path / "xfails.yaml", "was broken:\n  - sum-rule\n")
    result = sample.runpytest(*spec_args("torch", "--autograd-xfails=xfails.yaml"))
    outcomes = result.parseoutcomes()
    assert (outcomes.get("failed"), outcomes.get("passed")) == (1, 2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"FAILED {SUM}*XPASS(strict)*was broken*"])


def test_stale_entries_are_warned_about_without_failing(sample: pytest.Pytester) -> None:
    write(
        sample.path / "xfails.yaml",
        "mul adds:\n  - product-rule\n  - no-such-case\nfixed long ago: ['gone/*.yaml::*']\n",
    )
    result = sample.runpytest(*spec_args("WrongMulBackend", "--autograd-xfails=xfails.yaml"))
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*AutogradSpecWarning: xfails.yaml:3: 'no-such-case' (mul adds) matches no case*",
            "*AutogradSpecWarning: xfails.yaml:4: 'gone/*.yaml::*' (fixed long ago) matches no*",
        ]
    )
    assert "'product-rule' (mul adds) matches no case" not in result.stdout.str()


def test_stale_entries_can_be_made_an_error(sample: pytest.Pytester) -> None:
    write(sample.path / "xfails.yaml", "gone: [no-such-case]\n")
    result = sample.runpytest(
        *spec_args("torch", "--autograd-xfails=xfails.yaml"),
        "-W",
        "error::pytest_autograd_spec.reporter.AutogradSpecWarning",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*stale list entry: xfails.yaml:1: 'no-such-case' (gone)*"])


def test_entries_for_deselected_cases_are_not_stale(sample: pytest.Pytester) -> None:
    # -k harness-sample.yaml deselects the bundled spec; its cases still count as matched.
    write(sample.path / "xfails.yaml", "bundled: ['cases/*::*']\n")
    result = sample.runpytest(*spec_args("torch", "--autograd-xfails=xfails.yaml"))
    assert result.ret == pytest.ExitCode.OK
    assert "matches no case" not in result.stdout.str()


def test_skip_lists_skip_with_their_reason(sample: pytest.Pytester) -> None:
    write(sample.path / "skips.yaml", "hangs on this engine:\n  - backward-fills-grad\n")
    result = sample.runpytest(*spec_args("torch", "--autograd-skips=skips.yaml", "-rs"))
    outcomes = result.parseoutcomes()
    assert (outcomes.get("skipped"), outcomes.get("passed")) == (1, 2)
    result.stdout.fnmatch_lines(["SKIPPED*listed in skips.yaml: hangs on this engine"])
    assert BACKWARD.rsplit("::", 1)[0] in result.stdout.str()


def test_ini_lists_are_read_relative_to_the_ini_file(sample: pytest.Pytester) -> None:
    sample.mkdir("ci")
    write(sample.path / "ci" / "xfails.yaml", "mul adds: [product-rule]\n")
    sample.makeini("[pytest]\nautograd_xfails = ci/xfails.yaml\n")
    result = sample.runpytest(*spec_args("WrongMulBackend"))
    assert result.ret == pytest.ExitCode.OK
    assert result.parseoutcomes().get("xfailed") == 1


def test_a_bad_list_is_a_usage_error(sample: pytest.Pytester) -> None:
    write(sample.path / "xfails.yaml", "- just a list\n")
    result = sample.runpytest(*spec_args("torch", "--autograd-xfails=xfails.yaml"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--autograd-xfails: xfails.yaml:1: expected a mapping*"])
