"""Nightly step of the dashboards (imported from `DashboardsConfig.ready()`): after the sweep and
every other step, the day's aggregates."""

from datetime import date

from loanops.core.nightly import nightly_step


@nightly_step("dashboards.aggregates", order=90)
def aggregates_step(*, as_of: date) -> int:
    from loanops.dashboards.services.aggregates import aggregates_refresh

    return aggregates_refresh(as_of=as_of)
