"""Reads for the collections pages, API and the loan page. Every lookup goes through `for_user`."""

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from loan_collections.models import CaseAction, CaseStageChange, CollectionCase
from loanops.core.pages import CountlessPage, countless_page
from loanops.org.models import User
from loanops.org.scoping import for_user

LIST_PAGE_SIZE = 50


def case_list_for_user(*, user, filters: dict | None = None) -> QuerySet[CollectionCase]:
    """Cases the user may see, with what lists render; FILTERS: loan_number, stage, status, collector."""
    filters = filters or {}
    qs = for_user(CollectionCase.objects.all(), user).select_related("loan", "loan__branch", "collector")
    if filters.get("loan_number"):
        qs = qs.filter(loan__number=filters["loan_number"])
    if filters.get("stage"):
        qs = qs.filter(stage=filters["stage"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("collector"):
        qs = qs.filter(collector__username=filters["collector"])
    return qs


CasePage = CountlessPage  # one page of the list, without a COUNT


def case_page_list(*, user, filters: dict, page: int, page_size: int = LIST_PAGE_SIZE) -> CasePage:
    cases = case_list_for_user(user=user, filters=filters).order_by("-opened_on", "-id")
    return countless_page(cases, number=page, size=page_size)


def case_get_for_user(*, user, case_id: int) -> CollectionCase:
    case = (
        case_list_for_user(user=user)
        .select_related("loan__borrower", "loan__dealer", "loan__officer")
        .filter(id=case_id)
        .first()
    )
    if case is None:
        raise Http404("Case not found.")
    return case


def case_stage_history(*, case: CollectionCase) -> QuerySet[CaseStageChange]:
    return CaseStageChange.objects.filter(case=case).select_related("by").order_by("on", "id")


def case_actions(*, case: CollectionCase) -> QuerySet[CaseAction]:
    return CaseAction.objects.filter(case=case).order_by("due_on", "id")


def case_get_open_for_loan(*, loan) -> CollectionCase | None:
    return (
        CollectionCase.objects.filter(loan=loan, status=CollectionCase.Status.OPEN).select_related("collector").first()
    )


def case_stages_for_loans(loan_ids: list[int]) -> dict[int, str]:
    """The open case's stage by loan id (the loan API's delinquency block)."""
    if not loan_ids:
        return {}
    return dict(
        CollectionCase.objects.filter(loan_id__in=loan_ids, status=CollectionCase.Status.OPEN).values_list(
            "loan_id", "stage"
        )
    )


def collector_choices_for_user(*, user) -> QuerySet[User]:
    """People the user may hand cases to: active collectors and credit officers of branches they see."""
    from loan_collections.services.assignment import COLLECTOR_ROLES

    visible = for_user(User.objects.all(), user).values("id")
    return User.objects.filter(id__in=visible, is_active=True, role__in=COLLECTOR_ROLES).order_by("username")


def case_next_action(*, case: CollectionCase) -> dict | None:
    """What the collector should do next on an open case: the earliest of a promise coming due,
    a follow-up asked for at the last contact, and the stage's pending actions."""
    from loan_collections.models import ContactLog, PromiseToPay

    if case.status != CollectionCase.Status.OPEN:
        return None
    candidates = []
    promise = PromiseToPay.objects.filter(case=case, state=PromiseToPay.State.ACTIVE).first()
    if promise is not None:
        candidates.append({"on": promise.promised_date, "what": _("Check the promise to pay of %(amount)s")
                           % {"amount": f"{promise.amount:,.2f}"}})  # fmt: skip
    contact = ContactLog.objects.filter(case=case).order_by("-contacted_at", "-id").first()
    if contact is not None and contact.follow_up_on:
        candidates.append({"on": contact.follow_up_on, "what": _("Follow up the last contact")})
    action = (
        CaseAction.objects.filter(case=case, stage=case.stage, status=CaseAction.Status.PENDING)
        .order_by("due_on", "id")
        .first()
    )
    if action is not None:
        label = action.get_kind_display() + (f" · {action.get_track_display()}" if action.track else "")
        candidates.append({"on": action.due_on, "what": label})
    return min(candidates, key=lambda c: c["on"]) if candidates else None
