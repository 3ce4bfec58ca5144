"""Nightly step of the inspections app (imported from `InspectionsConfig.ready()`)."""

from datetime import date

from loanops.core.nightly import nightly_step


@nightly_step("inspections.schedule", order=40)
def schedule_step(*, as_of: date) -> int:
    from inspections.services.schedule import inspections_schedule

    return inspections_schedule(as_of=as_of)
