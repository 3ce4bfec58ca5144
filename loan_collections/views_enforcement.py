"""Enforcement pages: tracks list and moves, dealer advance requests, the write-off queue and
detail; the case page's enforcement and write-off sections."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from loan_collections.forms_enforcement import (
    DealerAdvanceFilterForm,
    TrackFilterForm,
    TrackMoveForm,
    WriteOffActionForm,
    WriteOffFilterForm,
    WriteOffProposeForm,
)
from loan_collections.models import CollectionCase, EnforcementTrack, Stage, WriteOff
from loan_collections.sections import register_case_section
from loan_collections.selectors import case_get_for_user
from loan_collections.services.dealer_advances import (
    case_dealer_advances,
    dealer_advance_is_overdue,
    dealer_advances_for_user,
)
from loan_collections.services.enforcement import (
    can_move_track,
    case_tracks,
    track_next_states,
    track_transition,
    tracks_for_user,
)
from loan_collections.services.writeoffs import (
    ACTION_LABELS,
    Action,
    can_propose,
    writeoff_act,
    writeoff_available_actions,
    writeoff_propose,
    writeoff_recovered_total,
    writeoff_recoveries,
    writeoff_steps,
    writeoffs_awaiting,
    writeoffs_for_user,
)
from loan_collections.views import can_view_cases
from loanops.core.exceptions import ApplicationError
from loanops.core.flash import flash_application_error, flash_form_errors
from loanops.core.pages import countless_page
from loanops.core.time import business_date
from loanops.org.scoping import for_user
from loans.forms import page_number
from loans.models import Loan

PAGE_SIZE = 50


def _require_viewer(user) -> None:
    if not can_view_cases(user):
        raise PermissionDenied


# --- case page sections --------------------------------------------------------------------------


@register_case_section(order=40)
def enforcement_section(request, case: CollectionCase):
    tracks = case_tracks(case=case)
    advances = list(case_dealer_advances(case=case))
    if not tracks and not advances:
        return None
    today = business_date()
    is_open = case.status == CollectionCase.Status.OPEN
    for track in tracks:
        states = track_next_states(track)
        track.move_form = (
            TrackMoveForm(states=states, prefix=f"t{track.id}")
            if is_open and states and can_move_track(request.user, track.kind)
            else None
        )
    for advance in advances:
        advance.overdue = dealer_advance_is_overdue(advance, today)
    return {
        "id": "enforcement",
        "title": gettext_lazy("Enforcement tracks and dealer advances"),
        "template": "collections/enforcement/case_section.html",
        "context": {"case": case, "tracks": tracks, "advances": advances},
    }


@register_case_section(order=50)
def writeoff_section(request, case: CollectionCase):
    write_offs = list(WriteOff.objects.filter(case=case).select_related("proposed_by").order_by("-id"))
    may_propose = (
        case.status == CollectionCase.Status.OPEN
        and case.stage == Stage.ENFORCEMENT
        and case.loan.status == Loan.Status.ACTIVE
        and can_propose(request.user)
        and not any(w.state not in (WriteOff.State.REJECTED, WriteOff.State.CLOSED) for w in write_offs)
    )
    if not write_offs and not may_propose:
        return None
    for write_off in write_offs:
        write_off.recovered = writeoff_recovered_total(write_off=write_off)
    return {
        "id": "write-off",
        "title": gettext_lazy("Write-off"),
        "template": "collections/writeoffs/case_section.html",
        "context": {
            "case": case,
            "write_offs": write_offs,
            "propose_form": WriteOffProposeForm() if may_propose else None,
        },
    }


# --- enforcement tracks --------------------------------------------------------------------------


@require_GET
@login_required
def track_list(request):
    _require_viewer(request.user)
    form = TrackFilterForm(request.GET)
    page = None
    if form.is_valid():
        page = countless_page(
            tracks_for_user(user=request.user, filters=form.filters),
            number=page_number(request.GET.get("page")),
            size=PAGE_SIZE,
        )
    return render(request, "collections/enforcement/tracks.html", {"form": form, "page": page})


@require_POST
@login_required
def track_move(request, track_id: int):
    _require_viewer(request.user)
    track = for_user(EnforcementTrack.objects.all(), request.user).filter(id=track_id).first()
    if track is None:
        raise Http404("Track not found.")
    form = TrackMoveForm(request.POST, prefix=f"t{track.id}")
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect(_case_url(track.case_id, "enforcement"))
    try:
        track_transition(
            track=track, to_state=form.cleaned_data["to_state"], acting_user=request.user,
            reference=form.cleaned_data["reference"], amount=form.cleaned_data["amount"],
            note=form.cleaned_data["note"],
        )  # fmt: skip
    except ApplicationError as exc:
        flash_application_error(request, exc, {name: field.label for name, field in form.fields.items()})
    else:
        messages.success(request, _("Track updated."))
    return redirect(_case_url(track.case_id, "enforcement"))


def _case_url(case_id: int, anchor: str) -> str:
    from django.urls import reverse

    return reverse("collections:detail", args=[case_id]) + f"#{anchor}"


# --- dealer advance requests ---------------------------------------------------------------------


@require_GET
@login_required
def dealer_advance_list(request):
    _require_viewer(request.user)
    form = DealerAdvanceFilterForm(request.GET)
    page = None
    today = business_date()
    if form.is_valid():
        page = countless_page(
            dealer_advances_for_user(user=request.user, filters=form.filters, today=today),
            number=page_number(request.GET.get("page")),
            size=PAGE_SIZE,
        )
        for advance in page.rows:
            advance.overdue = dealer_advance_is_overdue(advance, today)
    return render(request, "collections/enforcement/dealer_advances.html", {"form": form, "page": page, "today": today})


# --- write-offs ----------------------------------------------------------------------------------


@require_GET
@login_required
def writeoff_queue(request):
    _require_viewer(request.user)
    form = WriteOffFilterForm(request.GET)
    page = None
    if form.is_valid():
        page = countless_page(
            writeoffs_for_user(user=request.user, state=form.cleaned_data["state"]),
            number=page_number(request.GET.get("page")),
            size=PAGE_SIZE,
        )
    context = {"form": form, "page": page, "awaiting": writeoffs_awaiting(user=request.user)}
    return render(request, "collections/writeoffs/queue.html", context)


def _writeoff_for_user(user, write_off_id: int) -> WriteOff:
    write_off = (
        for_user(WriteOff.objects.all(), user)
        .select_related("loan", "loan__branch", "loan__borrower", "case", "proposed_by")
        .prefetch_related("steps")
        .filter(id=write_off_id)
        .first()
    )
    if write_off is None:
        raise Http404("Write-off not found.")
    return write_off


@require_GET
@login_required
def writeoff_detail(request, write_off_id: int):
    _require_viewer(request.user)
    write_off = _writeoff_for_user(request.user, write_off_id)
    actions = writeoff_available_actions(write_off=write_off, user=request.user)
    context = {
        "write_off": write_off,
        "steps": writeoff_steps(write_off=write_off),
        "recoveries": writeoff_recoveries(write_off=write_off),
        "recovered": writeoff_recovered_total(write_off=write_off),
        "actions": [(action, ACTION_BUTTONS[action]) for action in actions],
        "action_form": WriteOffActionForm() if actions else None,
        "needs_text": Action.ACCOUNTABILITY in actions,
        "action_labels": ACTION_LABELS,
    }
    return render(request, "collections/writeoffs/detail.html", context)


ACTION_BUTTONS = {
    Action.SUBMIT: gettext_lazy("Submit for branch review"),
    Action.APPROVE: gettext_lazy("Approve"),
    Action.RETURN: gettext_lazy("Return to draft"),
    Action.REJECT: gettext_lazy("Reject"),
    Action.POST: gettext_lazy("Post the write-off"),
    Action.ACCOUNTABILITY: gettext_lazy("Record the accountability review"),
    Action.CLOSE: gettext_lazy("Close the write-off"),
}


@require_POST
@login_required
def writeoff_action(request, write_off_id: int, action: str):
    _require_viewer(request.user)
    write_off = _writeoff_for_user(request.user, write_off_id)
    if action not in ACTION_BUTTONS:
        raise Http404("Unknown action.")
    form = WriteOffActionForm(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("collections:writeoff-detail", write_off_id=write_off.id)
    try:
        writeoff_act(
            write_off=write_off, action=action, acting_user=request.user,
            comment=form.cleaned_data["comment"], text=form.cleaned_data["text"],
        )  # fmt: skip
    except ApplicationError as exc:
        labels = {name: field.label for name, field in form.fields.items()}
        flash_application_error(request, exc, {**labels, "accountability_review": labels["text"]})
    else:
        messages.success(request, _("Write-off: %(action)s.") % {"action": ACTION_LABELS[action]})
    return redirect("collections:writeoff-detail", write_off_id=write_off.id)


@require_POST
@login_required
def writeoff_propose_view(request, case_id: int):
    _require_viewer(request.user)
    case = case_get_for_user(user=request.user, case_id=case_id)
    form = WriteOffProposeForm(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect(_case_url(case.id, "write-off"))
    try:
        write_off = writeoff_propose(
            case=case, ground=form.cleaned_data["ground"], evidence=form.cleaned_data["evidence"],
            acting_user=request.user,
        )  # fmt: skip
    except ApplicationError as exc:
        flash_application_error(request, exc, {name: field.label for name, field in form.fields.items()})
        return redirect(_case_url(case.id, "write-off"))
    messages.success(request, _("Write-off proposal created as a draft: submit it for review."))
    return redirect("collections:writeoff-detail", write_off_id=write_off.id)
