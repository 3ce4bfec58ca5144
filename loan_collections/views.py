"""Collections pages: the case list (with bulk reassignment for managers) and the case page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from loan_collections.forms import CaseFilterForm, ReassignForm, ReleaseForm
from loan_collections.models import CollectionCase, Stage
from loan_collections.sections import case_sections
from loan_collections.selectors import (
    LIST_PAGE_SIZE,
    case_actions,
    case_get_for_user,
    case_next_action,
    case_page_list,
    case_stage_history,
)
from loan_collections.services.assignment import can_reassign, cases_reassign
from loan_collections.services.enforcement import can_release_from_enforcement, case_release_from_enforcement
from loanops.core.exceptions import ApplicationError
from loanops.core.flash import flash_application_error, flash_errors
from loans.forms import page_number


def can_view_cases(user) -> bool:
    """Every staff role reads cases (scoped to its branches); API clients use the API."""
    return user.is_authenticated and user.is_back_office


def _require_viewer(user) -> None:
    if not can_view_cases(user):
        raise PermissionDenied


@require_GET
@login_required
def case_list(request):
    _require_viewer(request.user)
    form = CaseFilterForm(request.GET)
    page = None
    if form.is_valid():
        page = case_page_list(
            user=request.user, filters=form.filters, page=page_number(request.GET.get("page")), page_size=LIST_PAGE_SIZE
        )
    may_reassign = can_reassign(request.user)
    context = {
        "form": form,
        "page": page,
        "can_reassign": may_reassign,
        "reassign_form": ReassignForm(user=request.user) if may_reassign else None,
    }
    return render(request, "collections/list.html", context)


@require_GET
@login_required
def case_detail(request, case_id: int):
    _require_viewer(request.user)
    case = case_get_for_user(user=request.user, case_id=case_id)
    may_release = (
        can_release_from_enforcement(request.user)
        and case.status == CollectionCase.Status.OPEN
        and case.stage == Stage.ENFORCEMENT
    )
    context = {
        "case": case,
        "history": case_stage_history(case=case),
        "actions": case_actions(case=case),
        "state": getattr(case.loan, "delinquency", None),
        "release_form": ReleaseForm() if may_release else None,
        "sections": case_sections(request, case),
        "next_action": case_next_action(case=case),
    }
    return render(request, "collections/detail.html", context)


@require_POST
@login_required
def case_reassign(request):
    if not can_reassign(request.user):
        raise PermissionDenied
    form = ReassignForm(request.POST, user=request.user)
    labels = {name: str(field.label) for name, field in form.fields.items()}
    if not form.is_valid():
        flash_errors(request, form.errors, labels)
        return redirect("collections:list")
    try:
        changed = cases_reassign(
            cases=form.cleaned_data["cases"], collector=form.cleaned_data["collector"], acting_user=request.user
        )
    except ApplicationError as exc:
        flash_application_error(request, exc, labels)
    else:
        messages.success(
            request,
            ngettext("%(n)d case reassigned to %(user)s.", "%(n)d cases reassigned to %(user)s.", changed)
            % {"n": changed, "user": form.cleaned_data["collector"].username},
        )
    return redirect("collections:list")


@require_POST
@login_required
def case_release(request, case_id: int):
    case = case_get_for_user(user=request.user, case_id=case_id)
    if not can_release_from_enforcement(request.user):
        raise PermissionDenied
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form.errors, {"reason": _("Reason")})
        return redirect("collections:detail", case_id=case.id)
    try:
        case_release_from_enforcement(case=case, acting_user=request.user, reason=form.cleaned_data["reason"])
    except ApplicationError as exc:
        flash_errors(request, {"": [exc.message]})
    else:
        messages.success(request, _("Case released from enforcement to cure monitoring."))
    return redirect("collections:detail", case_id=case.id)
