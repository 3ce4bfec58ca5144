"""Nightly steps of the loans app: the arrears sweep is the first step of the chain."""

from datetime import date

from loanops.core.nightly import nightly_step


@nightly_step("loans.sweep", order=10)
def sweep_step(*, as_of: date) -> int:
    from loans.services.sweep import delinquency_sweep
    from loans.tasks import request_sweep_helpers

    return delinquency_sweep(as_of=as_of, helpers=request_sweep_helpers).rows_changed
