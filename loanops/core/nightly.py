"""The nightly chain: the arrears sweep first, then every step other apps register.

An app registers a step in its `AppConfig.ready()` (through its `nightly.py` module):

    @nightly_step("collections.cases", order=20)
    def cases_update_due(*, as_of: date) -> int: ...

Each step runs under its own `job_run` guard, so running the chain twice for a date
re-runs every step, and each step changes nothing the second time (steps are idempotent).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pghistory

from loanops.core.jobs import job_run_guard


@dataclass(frozen=True)
class NightlyStep:
    name: str
    order: int
    func: Callable[..., int]


_STEPS: dict[str, NightlyStep] = {}


def nightly_step(name: str, *, order: int) -> Callable:
    def register(func: Callable[..., int]) -> Callable[..., int]:
        _STEPS[name] = NightlyStep(name=name, order=order, func=func)
        return func

    return register


def nightly_steps() -> list[NightlyStep]:
    return sorted(_STEPS.values(), key=lambda step: (step.order, step.name))


def run_nightly(*, as_of: date, progress: Callable[[str, int], None] | None = None) -> list[tuple[str, int]]:
    """Run every registered step for AS_OF in order; returns (step, rows changed) pairs."""
    results = []
    for step in nightly_steps():
        with job_run_guard(f"nightly:{step.name}", as_of), pghistory.context(job=step.name, as_of=as_of.isoformat()):
            changed = step.func(as_of=as_of)
        results.append((step.name, changed))
        if progress:
            progress(step.name, changed)
    return results
