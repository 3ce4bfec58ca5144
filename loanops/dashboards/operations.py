"""Collections, inspections and custody figures. These read the (small) case, file and
inspection tables directly, scoped with `for_user` and the dashboard filters through the loan.

Contacts, promises, letters, enforcement tracks and write-off recoveries come from the collections
models; inspections are read through `hooks.model_or_none` (the app may be left out of a deployment).
"""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from loan_collections.models import (
    CaseAction,
    CaseStageChange,
    CollectionCase,
    ContactLog,
    EnforcementTrack,
    Letter,
    PromiseToPay,
    Stage,
    TrackState,
    WriteOff,
)
from loanops.core.time import business_date
from loanops.dashboards.hooks import model_or_none
from loanops.dashboards.selectors import percent
from loanops.dashboards.tables import Table, loan_list_url
from loanops.org.scoping import for_user
from loans.models import Payment

HANDOFF_DAYS = 7


def _loan_filter(prefix: str, data: dict | None) -> Q:
    condition = Q()
    data = data or {}
    for unit in (data.get("institution"), data.get("branch")):
        if unit is not None:
            condition &= Q(**{f"{prefix}branch__path__startswith": unit.path})
    for name in ("officer", "product", "dealer"):
        if data.get(name) is not None:
            condition &= Q(**{f"{prefix}{name}": data[name]})
    return condition


def _period() -> tuple[date, date]:
    today = business_date()
    return today.replace(day=1), today


def collections_data(user, data: dict | None, base: dict) -> dict:
    if data is None:
        return {"tables": {}, "invalid": True}
    start, end = _period()
    cases = for_user(CollectionCase.objects.all(), user).filter(_loan_filter("loan__", data))
    open_cases = cases.filter(status=CollectionCase.Status.OPEN)
    stages = dict(Stage.choices)

    by_stage = Table("stages", _("Open cases by stage"), [_("Stage"), _("Cases")])
    counts = dict(open_cases.values_list("stage").annotate(n=Count("id")).order_by())
    for stage, label in stages.items():
        by_stage.append([label, counts.get(stage, 0)], f"{reverse('collections:list')}?status=open&stage={stage}")

    changes = for_user(CaseStageChange.objects.all(), user).filter(_loan_filter("case__loan__", data))
    in_period = changes.filter(on__gte=start, on__lte=end)
    cured = in_period.filter(to_stage=Stage.CURE_MONITORING).values("case_id").distinct().count()
    active_in_period = cases.filter(opened_on__lte=end).filter(Q(closed_on__isnull=True) | Q(closed_on__gte=start))
    active_count = active_in_period.count()
    actions = for_user(CaseAction.objects.all(), user).filter(_loan_filter("case__loan__", data))
    letters = actions.filter(kind=CaseAction.Kind.LETTER_REQUEST, created_at__date__gte=start,
                             created_at__date__lte=end)  # fmt: skip
    rates = Table("rates", _("Collections this month (%(start)s – %(end)s)") % {"start": start, "end": end},
                  [_("Figure"), _("Value")])  # fmt: skip
    rates.append([_("Cases active in the month"), active_count])
    rates.append([_("Cases cured (moved to cure monitoring)"), cured])
    rates.append([_("Cure rate %"), percent(cured, active_count)])
    rates.append([_("Letters requested"), letters.count()])
    letters_issued = for_user(Letter.objects.all(), user).filter(
        _loan_filter("case__loan__", data), issued_on__gte=start, issued_on__lte=end
    )
    rates.append([_("Letters issued"), letters_issued.count()])
    promises = for_user(PromiseToPay.objects.all(), user).filter(
        _loan_filter("case__loan__", data), resolved_on__gte=start, resolved_on__lte=end
    )
    kept = promises.filter(state=PromiseToPay.State.KEPT).count()
    broken = promises.filter(state=PromiseToPay.State.BROKEN).count()
    rates.append([_("Promises kept"), kept])
    rates.append([_("Promises broken"), broken])
    rates.append([_("Promises kept rate %"), percent(kept, kept + broken)])
    recovered = (
        for_user(Payment.objects.all(), user)
        .filter(
            _loan_filter("loan__", data), reversed_at__isnull=True,
            loan__write_offs__state__in=[WriteOff.State.POSTED, WriteOff.State.CLOSED],
            value_date__gt=F("loan__write_offs__posted_on"), value_date__gte=start, value_date__lte=end,
        )
        .aggregate(total=Sum("amount"))["total"]
    )  # fmt: skip
    rates.append([_("Recoveries on written-off loans"), recovered or Decimal("0.00")])

    collectors = Table("collectors", _("Open cases and contacts per collector"),
                       [_("Collector"), _("Open cases"), _("Contacts this month"), _("Calls and visits"),
                        _("Stage changes this month")])  # fmt: skip
    per_collector = open_cases.values("collector__username").annotate(n=Count("id")).order_by("collector__username")
    contacts = for_user(ContactLog.objects.all(), user).filter(
        _loan_filter("case__loan__", data), contacted_at__date__gte=start, contacted_at__date__lte=end
    )
    contacted = dict(contacts.values_list("by__username").annotate(n=Count("id")).order_by())
    calls = dict(
        contacts.filter(channel__in=[ContactLog.Channel.CALL, ContactLog.Channel.VISIT])
        .values_list("by__username").annotate(n=Count("id")).order_by()
    )  # fmt: skip
    moved = dict(in_period.values_list("case__collector__username").annotate(n=Count("id")).order_by())
    for row in per_collector:
        name = row["collector__username"]
        collectors.append([name or "—", row["n"], contacted.get(name, 0), calls.get(name, 0), moved.get(name, 0)])

    enforcement = Table("enforcement", _("Enforcement tracks"), [_("Track"), _("State"), _("Count"),
                                                                 _("Claimed"), _("Recovered")])  # fmt: skip
    kinds = dict(EnforcementTrack.Kind.choices)
    states = dict(TrackState.choices)
    tracks = for_user(EnforcementTrack.objects.all(), user).filter(_loan_filter("case__loan__", data))
    for row in (
        tracks.values("kind", "state").annotate(n=Count("id"), claimed=Sum("amount_claimed"),
                                                recovered=Sum("amount_recovered")).order_by("kind", "state")
    ):  # fmt: skip
        enforcement.append(
            [kinds.get(row["kind"], row["kind"]), states.get(row["state"], row["state"]), row["n"],
             row["claimed"], row["recovered"]],
            loan_list_url(base, rule_3_6="yes"),
        )  # fmt: skip
    return {"tables": {t.name: t for t in (by_stage, rates, collectors, enforcement)}, "period": (start, end)}


def custody_data(user, data: dict | None, base: dict) -> dict:
    if data is None:
        return {"tables": {}, "invalid": True}
    from archives.models import BorrowRequest, CreditFile

    files = for_user(CreditFile.objects.all(), user).filter(_loan_filter("loan__", data))
    today = business_date()
    overdue_loans = BorrowRequest.objects.filter(
        file=OuterRef("pk"), state=BorrowRequest.State.ON_LOAN, return_due__lt=today
    )
    lag = ExpressionWrapper(F("handed_off_on") - F("loan__disbursement_date"), output_field=DurationField())
    per_officer = (
        files.annotate(lag=lag)
        .values("loan__officer__username")
        .annotate(
            total=Count("id"),
            handed=Count("id", filter=Q(handed_off_on__isnull=False)),
            on_time=Count("id", filter=Q(lag__lte=timedelta(days=HANDOFF_DAYS))),
            late=Count("id", filter=Q(flagged_late=True)),
            pending_late=Count("id", filter=Q(handed_off_on__isnull=True,
                                              loan__disbursement_date__lt=today - timedelta(days=HANDOFF_DAYS))),
            on_loan=Count("id", filter=Q(state=CreditFile.State.ON_LOAN)),
            on_loan_overdue=Count("id", filter=Q(Exists(overdue_loans))),
            incidents=Count("id", filter=Q(state=CreditFile.State.INCIDENT)),
        )
        .order_by("loan__officer__username")
    )  # fmt: skip
    table = Table("files", _("Credit files by officer"), [
        _("Officer"), _("Files"), _("Handed off"), _("Within 7 days"), _("Within 7 days %"), _("Flagged late"),
        _("Not handed off, overdue"), _("On loan"), _("On loan, overdue"), _("Incidents"),
    ])  # fmt: skip
    totals = dict.fromkeys(
        ("total", "handed", "on_time", "late", "pending_late", "on_loan", "on_loan_overdue", "incidents"), 0
    )
    for row in per_officer:
        for key in totals:
            totals[key] += row[key]
        name = row["loan__officer__username"]
        table.append([name or "—", row["total"], row["handed"], row["on_time"], percent(row["on_time"], row["handed"]),
                      row["late"], row["pending_late"], row["on_loan"], row["on_loan_overdue"], row["incidents"]],
                     loan_list_url({**base, "officer": name}) if name else "")  # fmt: skip
    table.append([_("Total"), totals["total"], totals["handed"], totals["on_time"],
                  percent(totals["on_time"], totals["handed"]), totals["late"], totals["pending_late"],
                  totals["on_loan"], totals["on_loan_overdue"], totals["incidents"]])  # fmt: skip
    result = {"tables": {"files": table}}
    inspections = inspection_table(user, data, base)
    if inspections is not None:
        result["tables"]["inspections"] = inspections
    return result


def inspection_table(user, data: dict, base: dict) -> Table | None:
    """HOOK(inspections): inspections done on time and overdue per officer, once the model has
    `officer`, `due_on`/`due_date` and `completed_on` fields."""
    model = model_or_none("inspections", "Inspection")
    if model is None:
        return None
    fields = {f.name for f in model._meta.get_fields()}
    due = "due_on" if "due_on" in fields else "due_date" if "due_date" in fields else None
    done = "completed_on" if "completed_on" in fields else None
    officer = "officer" if "officer" in fields else None
    if not (due and done and officer and "loan" in fields):
        return None
    today = business_date()
    cancelled = {"state": "cancelled"} if "state" in fields else {"pk__in": []}
    rows = (
        for_user(model.objects.all(), user).filter(_loan_filter("loan__", data))
        .values(f"{officer}__username")
        .annotate(
            done=Count("id", filter=Q(**{f"{done}__isnull": False})),
            on_time=Count("id", filter=Q(**{f"{done}__lte": F(due)})),
            overdue=Count("id", filter=Q(**{f"{done}__isnull": True, f"{due}__lt": today}) & ~Q(**cancelled)),
        )
        .order_by(f"{officer}__username")
    )  # fmt: skip
    table = Table("inspections", _("Inspections by officer"),
                  [_("Officer"), _("Done"), _("On time"), _("On time %"), _("Overdue now")])  # fmt: skip
    for row in rows:
        table.append([row[f"{officer}__username"] or "—", row["done"], row["on_time"],
                      percent(row["on_time"], row["done"]), row["overdue"]])  # fmt: skip
    return table
