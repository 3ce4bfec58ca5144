"""Nightly steps of the collections app (imported from `CollectionsConfig.ready()`)."""

from datetime import date

from loanops.core.nightly import nightly_step


@nightly_step("collections.cases", order=20)
def cases_step(*, as_of: date) -> int:
    from loan_collections.services.cases import cases_update_due

    return cases_update_due(as_of=as_of)


@nightly_step("collections.enforcement", order=22)
def enforcement_step(*, as_of: date) -> int:
    from loan_collections.services.tracks import enforcement_update_due

    return enforcement_update_due(as_of=as_of)
