"""Read-only hooks into apps other helpers are building at the same time (NPL oversight,
inspections, collections contacts/promises/letters, write-offs). Each reads defensively: when
the app or model is not installed yet, the figure is simply absent (None), never an error.

Oversight (`loanops.oversight`): institutions whose `InstitutionRestriction` is RESTRICTED and
dealers flagged in the latest `DealerMonthRate` month are highlighted; dealers are also flagged
from `Dealer.suspended_new_business`. Read through `apps.get_model`, so the dashboards keep
working if that app is absent.
"""

from django.apps import apps

from loans.models import Dealer


def restricted_branch_ids() -> set[int]:
    """Institutions (branch ids) under an NPL restriction now."""
    model = model_or_none("oversight", "InstitutionRestriction")
    if model is None:
        return set()
    return set(model.objects.filter(state="restricted").values_list("institution_id", flat=True))


def flagged_dealer_ids() -> set[int]:
    flagged = set(Dealer.objects.filter(suspended_new_business=True).values_list("id", flat=True))
    model = model_or_none("oversight", "DealerMonthRate")
    if model is not None:
        latest = model.objects.order_by("-month").values("month")[:1]
        flagged |= set(model.objects.filter(month=latest, flagged=True).values_list("dealer_id", flat=True))
    return flagged


def model_or_none(label: str, name: str):
    """A model of another app if it is installed (e.g. ("collections", "PromiseToPay")), else None."""
    try:
        return apps.get_model(label, name)
    except LookupError:
        return None
