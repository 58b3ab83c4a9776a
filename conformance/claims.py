"""``backends --check-claims``: is each capability an adapter declares missing really missing?

A capability declared missing switches off every case that needs it, so a
false claim hides a half-written method from the whole spec. The check runs
each of those cases anyway, on a subclass of the adapter that declares the
capability and records the calls that answer for it (the table below):
whether each answered or raised NotSupportedError. The adapter is accused
only on evidence: such a call answered, and the case then failed. A case
that fails without that evidence is inconclusive, never an accusation; a
capability no case can try is "not checked", never "holds".

Two capabilities are behaviours of grad() and backward() rather than
methods: graph-freeing (a second pass through a used graph raises) and
graph-membership (grad() refuses what is not on the graph). Every case
calls grad() or backward(), so an answer proves nothing; what an engine
without the behaviour does is answer where the case expects an error. That
failure confirms the claim, and no case can contradict it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, cast

import numpy as np

from conformance.backend import Backend
from conformance.capabilities import CAPABILITIES, CHECK_CAPABILITIES
from conformance.errors import NotSupportedError
from conformance.language.vocabulary import GRAD_MODES, OPS
from conformance.model import Case
from conformance.runner import Outcome, RunOptions, Verdict, run_case

#: For each capability, the calls that answer for it: evidence when one does
#: not raise NotSupportedError and the case fails. Every capability of the
#: vocabulary has an entry (a test holds the two lists together).
EVIDENCE: dict[str, str] = {
    "backward": "backward()",
    "grad-accumulation": "get_grad(), zero_grad(), clear_grad()",
    "grad-fn": "has_grad_fn(), is_leaf(), grad_fn_name()",
    "higher-order": "grad() or backward() with create_graph=True",
    "graph-freeing": "none: a behaviour of grad() and backward()",
    "grad-mode": "grad_mode('no_grad'), grad_mode('enable_grad')",
    "inference-mode": "grad_mode('inference_mode')",
    "detach": "detach()",
    "in-place": "the in-place operations: setitem, add_, mul_, zero_, copy_, ...",
    "retain-grad": "retain_grad()",
    "requires-grad-flag": "requires_grad(), requires_grad_()",
    "hooks": "register_hook(), remove_hook()",
    "float64": "tensor() of a float64 array, the double operation",
    "graph-membership": "none: a behaviour of grad()",
}

_METHODS: dict[str, frozenset[str]] = {
    "backward": frozenset({"backward"}),
    "grad-accumulation": frozenset({"get_grad", "zero_grad", "clear_grad"}),
    "grad-fn": frozenset({"has_grad_fn", "is_leaf", "grad_fn_name"}),
    "detach": frozenset({"detach"}),
    "retain-grad": frozenset({"retain_grad"}),
    "requires-grad-flag": frozenset({"requires_grad", "requires_grad_"}),
    "hooks": frozenset({"register_hook", "remove_hook"}),
}

#: Behaviours: what a case that fails on an engine without one shows.
_BEHAVIOURS: dict[str, str] = {
    "graph-freeing": "a second pass answered where the case expects an error",
    "graph-membership": "grad() answered where the case expects it to refuse",
}

#: Methods only the judge calls, to read a check; an answer that the check
#: then accepts was right, and a failure elsewhere in the case is not its doing.
_READS: dict[str, str] = {
    "has_grad_fn": "grad_fn",
    "is_leaf": "is_leaf",
    "grad_fn_name": "grad_fn_name",
    "requires_grad": "requires_grad",
}

#: Every method of the contract the runner calls; all are watched, so that a
#: call an adapter makes from inside another (grad() built on backward()) is
#: told apart from a call the runner made.
_WATCHED = (
    "tensor",
    "op",
    "grad",
    "backward",
    "get_grad",
    "zero_grad",
    "clear_grad",
    "detach",
    "requires_grad_",
    "retain_grad",
    "grad_mode",
    "register_hook",
    "remove_hook",
    "requires_grad",
    "is_leaf",
    "has_grad_fn",
    "grad_fn_name",
)

REFUSED = "raised NotSupportedError"


@dataclass(frozen=True)
class Call:
    """A call that answers for the capability under check, and what came of it."""

    label: str  # e.g. "backward()", "grad_mode('inference_mode')"
    method: str
    answer: str  # "returned", "raised RuntimeError", or REFUSED

    @property
    def refused(self) -> bool:
        return self.answer == REFUSED


@dataclass(frozen=True)
class Trial:
    """One case run with the capability declared, and what it shows about the claim."""

    case: Case
    verdict: Verdict
    calls: tuple[Call, ...]
    #: "accused", "refused", "as-without" (failed as an engine without the
    #: behaviour does), "answered" (answered and passed), "inconclusive",
    #: or "not-reached" (skipped before anything answered for the capability).
    finding: str


@dataclass(frozen=True)
class ClaimCheck:
    """The verdict on one capability the adapter declares missing."""

    capability: str
    #: "holds" (refused, or failed as an engine without it does), "accused",
    #: "inconclusive", "could be declared" (it answered and every case it
    #: reached passed: nothing is missing) or "not checked".
    status: str
    trials: tuple[Trial, ...]

    def of(self, finding: str) -> list[Trial]:
        return [trial for trial in self.trials if trial.finding == finding]


class _Recorder:
    def __init__(self, capability: str) -> None:
        self.capability = capability
        self.calls: list[Call] = []
        self.depth = 0  # > 0 while a watched method runs: calls it makes are the adapter's own


def needs(case: Case) -> frozenset[str]:
    """What a case asks of a backend: its steps' capabilities and those its checks read."""
    reads = {
        CHECK_CAPABILITIES[key]
        for expectation in case.expect
        for key in expectation.checked_keys()
        if key in CHECK_CAPABILITIES
    }
    return case.capabilities | reads


def _argument(method: str, name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    try:
        bound = inspect.signature(getattr(Backend, method)).bind(None, *args, **kwargs)
    except TypeError:
        return None
    return bound.arguments.get(name)


def _label(capability: str, method: str, args: Sequence[Any], kwargs: dict[str, Any]) -> str | None:
    """How a call answers for ``capability``, or None if it does not."""
    if method in _METHODS.get(capability, ()):
        return f"{method}()"
    if method == "grad_mode" and args:
        mode = GRAD_MODES.get(str(args[0]))
        return f"grad_mode({args[0]!r})" if mode and mode.capability == capability else None
    if method == "op" and args:
        spec = OPS.get(str(args[0]))
        if (spec is not None and spec.capability == capability) or (
            capability == "float64" and args[0] == "double"
        ):
            return f"operation {args[0]!r}"
        return None
    if capability == "float64" and method == "tensor" and args:
        return "tensor() of a float64 array" if np.asarray(args[0]).dtype == np.float64 else None
    if capability == "higher-order" and method in ("grad", "backward"):
        return (
            f"{method}(create_graph=True)"
            if _argument(method, "create_graph", args, kwargs)
            else None
        )
    return None


def _answer(error: BaseException | None) -> str:
    if error is None:
        return "returned"
    return REFUSED if isinstance(error, NotSupportedError) else f"raised {type(error).__name__}"


class _WatchedContext(AbstractContextManager[Any]):
    """A grad-mode context whose entry is the answer: an engine may refuse there."""

    def __init__(self, inner: Any, label: str, recorder: _Recorder) -> None:
        self.inner = inner
        self.label = label
        self.recorder = recorder

    def __enter__(self) -> Any:
        try:
            value = self.inner.__enter__()
        except Exception as exc:
            self.recorder.calls.append(Call(self.label, "grad_mode", _answer(exc)))
            raise
        self.recorder.calls.append(Call(self.label, "grad_mode", _answer(None)))
        return value

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        return cast("bool | None", self.inner.__exit__(kind, error, traceback))


def _watch(base: type[Backend], method: str, recorder: _Recorder) -> Callable[..., Any]:
    original = getattr(base, method)

    def watched(self: Backend, *args: Any, **kwargs: Any) -> Any:
        outermost = recorder.depth == 0
        label = _label(recorder.capability, method, args, kwargs) if outermost else None
        recorder.depth += 1
        try:
            result = original(self, *args, **kwargs)
        except Exception as exc:
            if label is not None:
                recorder.calls.append(Call(label, method, _answer(exc)))
            raise
        finally:
            recorder.depth -= 1
        if label is None:
            return result
        if method == "grad_mode":
            return _WatchedContext(result, label, recorder)
        recorder.calls.append(Call(label, method, _answer(None)))
        return result

    watched.__name__ = method
    return watched


def _claiming(backend: Backend, capability: str, recorder: _Recorder) -> Backend:
    """The adapter, declaring ``capability`` too, with the calls that answer for it recorded."""
    base = type(backend)
    namespace: dict[str, Any] = {"capabilities": frozenset(base.capabilities) | {capability}}
    namespace.update({method: _watch(base, method, recorder) for method in _WATCHED})
    claiming = cast("type[Backend]", type(base.__name__, (base,), namespace))
    return claiming(device=backend.device)


def _finding(capability: str, case: Case, verdict: Verdict, calls: Sequence[Call]) -> str:
    failed = verdict.outcome not in (Outcome.PASSED, Outcome.SKIPPED)
    answered = [call for call in calls if not call.refused]
    if failed and answered and not _answered_right(answered, verdict):
        return "accused"
    if any(call.refused for call in calls):
        return "refused"
    behaviour = capability in _BEHAVIOURS
    if failed:
        missing_error = case.raises is not None and verdict.raised is None
        return "as-without" if behaviour and missing_error else "inconclusive"
    if verdict.outcome is Outcome.PASSED and (answered or behaviour):
        return "answered"
    return "not-reached"


def _answered_right(answered: Sequence[Call], verdict: Verdict) -> bool:
    """Whether every answer was a check's read that the check accepted: the failure is elsewhere."""
    failed_checks = {mismatch.check for mismatch in verdict.mismatches}
    return all(
        call.method in _READS and _READS[call.method] not in failed_checks for call in answered
    )


def _status(trials: Sequence[Trial]) -> str:
    findings = {trial.finding for trial in trials}
    if "accused" in findings:
        return "accused"
    if "inconclusive" in findings:
        return "inconclusive"
    if findings & {"refused", "as-without"}:
        return "holds"
    if "answered" in findings:
        return "could be declared"
    return "not checked"


def check_claims(backend: Backend, cases: Iterable[Case]) -> list[ClaimCheck]:
    """Check every capability the adapter declares missing, on every case that needs just it.

    Cases run in the mode the adapter runs in by default (strict when it
    promises torch's details), so torch-detail cases count only there.
    """
    options = RunOptions(strict=backend.torch_details)
    applicable = [case for case in cases if case.kind != "torch-detail" or options.strict]
    checks = []
    for capability in CAPABILITIES:
        if capability in backend.capabilities:
            continue
        recorder = _Recorder(capability)
        claiming = _claiming(backend, capability, recorder)
        trials = []
        for case in applicable:
            if needs(case) - backend.capabilities != {capability}:
                continue
            recorder.calls = []
            verdict = run_case(case, claiming, options)
            calls = tuple(recorder.calls)
            trials.append(Trial(case, verdict, calls, _finding(capability, case, verdict, calls)))
        checks.append(ClaimCheck(capability, _status(trials), tuple(trials)))
    return checks


# Text ---------------------------------------------------------------------------------------


def _where(trial: Trial) -> str:
    return f"{trial.case.location} ({trial.case.id})"


def _first_problem(trial: Trial) -> str:
    verdict = trial.verdict
    if verdict.mismatches:
        return str(verdict.mismatches[0])
    return verdict.reason or f"outcome {verdict.outcome.value}"


def _accusation(trial: Trial) -> str:
    call = next(call for call in trial.calls if not call.refused)
    return (
        f"{call.label} {call.answer} instead of raising NotSupportedError in {_where(trial)},"
        f" and the case failed: {_first_problem(trial)}"
    )


#: Cases listed in full under a capability; the rest are named, a few of them.
_LISTED = 5


def _some(trials: Sequence[Trial]) -> str:
    named = ", ".join(_where(trial) for trial in trials[:_LISTED])
    return named + (f" and {len(trials) - _LISTED} more" if len(trials) > _LISTED else "")


def _tally(check: ClaimCheck) -> str:
    parts = [f"{len(check.trials)} case{'s' if len(check.trials) != 1 else ''} tried"]
    labels = {
        "refused": "raised NotSupportedError in {n}",
        "as-without": "failed as an engine without it does in {n} ({behaviour})",
        "answered": "passed in {n}, {answering}",
        "inconclusive": "failed without evidence in {n}",
        "not-reached": "skipped before asking for it in {n}",
    }
    for finding, text in labels.items():
        count = len(check.of(finding))
        if count:
            behaviour = _BEHAVIOURS.get(check.capability)
            answering = "showing the behaviour" if behaviour else "its calls answering"
            parts.append(text.format(n=count, behaviour=behaviour, answering=answering))
    return "; ".join(parts)


def format_claims(backend: Backend, checks: Sequence[ClaimCheck]) -> list[str]:
    """One line per capability declared missing, then a closing line.

    Accused and inconclusive cases are listed under their capability; the
    closing line says "every claim holds" only when every capability was
    tried and confirmed.
    """
    name = backend.name
    if not checks:
        return [f"{name}: declares every capability of the vocabulary; no claim to check"]
    count = f"{len(checks)} capabilit{'ies' if len(checks) > 1 else 'y'}"
    lines = [
        f"{name}: declares {count} missing; each is tried on every case that needs only it,"
        " with it declared"
    ]
    for check in checks:
        head = f"  {check.capability}: {check.status}"
        if check.status == "accused":
            first, *others = check.of("accused")
            lines.append(f"{head}: {_accusation(first)}")
            if others:
                lines.append(f"    the same in {len(others)} more: {_some(others)}")
        elif not check.trials:
            lines.append(f"{head}: no case needs only it")
        elif check.status == "not checked":
            lines.append(f"{head}: {_tally(check)}; first skip: {check.trials[0].verdict.reason}")
        else:
            lines.append(f"{head}: {_tally(check)}")
        inconclusive = check.of("inconclusive")
        lines.extend(
            f"    inconclusive: {_where(trial)}: {_first_problem(trial)}"
            for trial in inconclusive[:_LISTED]
        )
        if len(inconclusive) > _LISTED:
            lines.append(f"    inconclusive too: {_some(inconclusive[_LISTED:])}")
    counts = {status: sum(c.status == status for c in checks) for status in _STATUS_ORDER}
    if counts["accused"]:
        lines.append(f"{name}: {counts['accused']} of {len(checks)} claims contradicted")
    elif counts["holds"] == len(checks):
        lines.append(f"{name}: every claim holds: each capability it lacks was tried and confirmed")
    else:
        summary = ", ".join(f"{counts[s]} {s}" for s in _STATUS_ORDER if counts[s])
        lines.append(f"{name}: no claim contradicted, not all confirmed: {summary}")
    return lines


_STATUS_ORDER = ("accused", "inconclusive", "not checked", "could be declared", "holds")
