"""The collector's day: the work queue, the case page's contacts-and-promises section with its
forms, and each collector's load for managers."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from loan_collections.forms import ContactForm, PromiseForm, QueueForm
from loan_collections.models import CollectionCase, PromiseToPay
from loan_collections.sections import register_case_section
from loan_collections.selectors import case_get_for_user
from loan_collections.services.assignment import can_reassign
from loan_collections.services.contacts import CONTACT_HOURS, can_work_case, contact_log
from loan_collections.services.promises import (
    is_supervisor,
    promise_approve,
    promise_cancel,
    promise_paid_so_far,
    promise_record,
)
from loan_collections.views import can_view_cases
from loan_collections.work_selectors import case_contacts, case_promises, collector_load, queue_collectors, work_queue
from loanops.core.exceptions import ApplicationError
from loanops.core.flash import flash_application_error, flash_form_errors
from loanops.core.time import business_date
from loans.forms import page_number

LOAD_CONTACT_DAYS = 7


def can_see_queue(user) -> bool:
    return can_view_cases(user)


def can_see_load(user) -> bool:
    return can_reassign(user) or (user.is_authenticated and user.is_read_only)


@register_case_section(order=20)
def contacts_section(request, case: CollectionCase):
    may_work = case.status == CollectionCase.Status.OPEN and can_work_case(request.user, case)
    promises = case_promises(case=case)
    open_promise = next((p for p in promises if p.state in ("active", "awaiting_approval")), None)
    now = timezone.localtime()
    return {
        "id": "contacts",
        "title": gettext_lazy("Contacts and promises to pay"),
        "template": "collections/includes/contacts_section.html",
        "context": {
            "case": case,
            "contacts": case_contacts(case=case),
            "promises": promises,
            "open_promise": open_promise,
            "open_promise_paid": promise_paid_so_far(open_promise) if open_promise else None,
            "contact_form": ContactForm(case=case, initial={"contacted_at": now.strftime("%Y-%m-%dT%H:%M")})
            if may_work
            else None,
            "promise_form": PromiseForm() if may_work and open_promise is None else None,
            "may_approve": is_supervisor(request.user),
            "may_work": may_work,
            "contact_hours": f"{CONTACT_HOURS[0]:%H:%M}–{CONTACT_HOURS[1]:%H:%M}",
        },
    }


@require_GET
@login_required
def queue(request):
    if not can_see_queue(request.user):
        raise PermissionDenied
    collectors = queue_collectors(user=request.user)
    form = QueueForm(request.GET, collectors=collectors)
    collector = request.user
    if form.is_valid() and form.cleaned_data.get("collector"):
        if not can_reassign(request.user) and form.cleaned_data["collector"] != request.user:
            raise PermissionDenied
        collector = form.cleaned_data["collector"]
    today = business_date()
    page = work_queue(user=request.user, collector=collector, today=today, page=page_number(request.GET.get("page")))
    context = {
        "form": form if can_reassign(request.user) else None,
        "collector": collector,
        "page": page,
        "today": today,
    }
    return render(request, "collections/queue.html", context)


@require_GET
@login_required
def load(request):
    if not can_see_load(request.user):
        raise PermissionDenied
    since = business_date() - timedelta(days=LOAD_CONTACT_DAYS - 1)
    context = {"rows": collector_load(user=request.user, since=since), "days": LOAD_CONTACT_DAYS}
    return render(request, "collections/load.html", context)


def _back(case: CollectionCase):
    return redirect(f"{case_url(case)}#contacts")


def case_url(case: CollectionCase) -> str:
    from django.urls import reverse

    return reverse("collections:detail", args=[case.id])


@require_POST
@login_required
def contact_create(request, case_id: int):
    case = case_get_for_user(user=request.user, case_id=case_id)
    if not can_work_case(request.user, case):
        raise PermissionDenied
    form = ContactForm(request.POST, case=case)
    if not form.is_valid():
        flash_form_errors(request, form)
        return _back(case)
    try:
        contact_log(case=case, acting_user=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        flash_application_error(request, exc, {name: str(field.label) for name, field in form.fields.items()})
    else:
        messages.success(request, _("Contact logged."))
    return _back(case)


@require_POST
@login_required
def promise_create(request, case_id: int):
    case = case_get_for_user(user=request.user, case_id=case_id)
    if not can_work_case(request.user, case):
        raise PermissionDenied
    form = PromiseForm(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form)
        return _back(case)
    try:
        _promise, warnings = promise_record(case=case, acting_user=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        flash_application_error(request, exc, {name: str(field.label) for name, field in form.fields.items()})
    else:
        messages.success(request, _("Promise to pay recorded."))
        for warning in warnings:
            messages.warning(request, warning)
    return _back(case)


def _promise_for(request, promise_id: int) -> PromiseToPay:
    promise = PromiseToPay.objects.select_related("case").filter(id=promise_id).first()
    if promise is None:
        raise Http404
    case_get_for_user(user=request.user, case_id=promise.case_id)  # scope: 404 outside the user's branches
    return promise


@require_POST
@login_required
def promise_approve_view(request, promise_id: int):
    promise = _promise_for(request, promise_id)
    try:
        promise_approve(promise=promise, acting_user=request.user)
    except ApplicationError as exc:
        flash_application_error(request, exc, {})
    else:
        messages.success(request, _("Promise approved: escalation is frozen until its date."))
    return _back(promise.case)


@require_POST
@login_required
def promise_cancel_view(request, promise_id: int):
    promise = _promise_for(request, promise_id)
    try:
        promise_cancel(promise=promise, acting_user=request.user, note=request.POST.get("note", "")[:200])
    except ApplicationError as exc:
        flash_application_error(request, exc, {})
    else:
        messages.success(request, _("Promise cancelled."))
    return _back(promise.case)
