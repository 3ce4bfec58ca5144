"""Nightly steps of the archives app (imported from `ArchivesConfig.ready()`)."""

from datetime import date

from loanops.core.nightly import nightly_step


@nightly_step("archives.open_missing", order=30)
def open_missing_step(*, as_of: date) -> int:
    from archives.services.files import credit_files_update_due

    return credit_files_update_due(as_of=as_of)


@nightly_step("archives.custody_alerts", order=35)
def custody_alerts_step(*, as_of: date) -> int:
    from archives.services.alerts import custody_alerts_raise

    return custody_alerts_raise(as_of=as_of)
