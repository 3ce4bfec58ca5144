"""Inspection pages: my inspections, the team calendar, the credit head's and the manager's queues,
overdue inspections by officer, the inspection page with its report form and sign-off actions,
adverse events from the loan page, and head office's spot-check samples."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from inspections.forms import (
    AdverseEventForm,
    AssignForm,
    AttachmentForm,
    CalendarForm,
    CommentsForm,
    ReportForm,
    SampleDrawForm,
    TaskForm,
)
from inspections.models import (
    EDITABLE_STATES,
    OFFICER_FLAG_OVERDUE,
    FollowUpTask,
    InspectionAttachment,
    InspectionState,
    SpotCheckSample,
)
from inspections.selectors import (
    acknowledgement_queue,
    calendar_month,
    flagged_officer_ids,
    inspection_get_for_user,
    inspection_tasks,
    my_inspections,
    my_open_tasks,
    officer_overdue_counts,
    officers_for_branch,
    review_queue,
    samples,
)
from inspections.services import inspections as svc
from inspections.services import sampling
from loanops.core.exceptions import ApplicationError
from loanops.core.flash import flash_application_error, flash_form_errors
from loanops.core.time import business_date
from loanops.org.models import User
from loanops.org.scoping import for_user, visible_paths
from loans.models import Loan


def can_view_inspections(user) -> bool:
    return user.is_authenticated and user.is_back_office


def _require_viewer(user) -> None:
    if not can_view_inspections(user):
        raise PermissionDenied


def _act(request, inspection_id: int, action, success: str):
    """Scoped fetch, the service call, a message, back to the inspection page."""
    _require_viewer(request.user)
    inspection = inspection_get_for_user(user=request.user, inspection_id=inspection_id)
    try:
        action(inspection)
    except ApplicationError as exc:
        if exc.status_code == 403:
            raise PermissionDenied(exc.message) from exc
        flash_application_error(request, exc)
    else:
        messages.success(request, success)
    return redirect("inspections:detail", inspection_id=inspection.id)


# --- lists -------------------------------------------------------------------------------------


@require_GET
@login_required
def home(request):
    """My inspections (due, overdue, returned), my follow-up tasks and the queues I work."""
    _require_viewer(request.user)
    user, today = request.user, business_date()
    context = {
        "today": today,
        "mine": my_inspections(user=user, today=today),
        "tasks": my_open_tasks(user=user)[:50],
        "can_originate": not flagged_officer_ids(officer_ids=[user.id], today=today),
        "flag_threshold": OFFICER_FLAG_OVERDUE,
        "review_count": review_queue(user=user).count() if svc.can_review(user) else None,
        "ack_count": acknowledgement_queue(user=user).count() if svc.can_acknowledge(user) else None,
        "can_sample": sampling.can_view_samples(user),
    }
    return render(request, "inspections/home.html", context)


@require_GET
@login_required
def review_list(request):
    _require_viewer(request.user)
    if not svc.can_review(request.user):
        raise PermissionDenied
    items = list(review_queue(user=request.user)[:200])
    return render(
        request, "inspections/queue.html",
        {"title": _("Reports to review"), "items": items, "today": business_date(), "testid": "review-queue"},
    )  # fmt: skip


@require_GET
@login_required
def acknowledge_list(request):
    _require_viewer(request.user)
    if not svc.can_acknowledge(request.user):
        raise PermissionDenied
    items = list(acknowledgement_queue(user=request.user)[:200])
    return render(
        request, "inspections/queue.html",
        {"title": _("Reports to acknowledge"), "items": items, "today": business_date(), "testid": "ack-queue"},
    )  # fmt: skip


@require_GET
@login_required
def overdue_by_officer(request):
    _require_viewer(request.user)
    today = business_date()
    rows = officer_overdue_counts(user=request.user, today=today)
    return render(
        request, "inspections/overdue.html", {"rows": rows, "today": today, "threshold": OFFICER_FLAG_OVERDUE}
    )


@require_GET
@login_required
def team_calendar(request):
    _require_viewer(request.user)
    today = business_date()
    form = CalendarForm(request.GET)
    year, month = form.month_of(today)
    officer = form.cleaned_data.get("officer", "") if form.is_valid() else ""
    weeks = calendar_month(user=request.user, year=year, month=month, officer=officer)
    previous = (year - 1, 12) if month == 1 else (year, month - 1)
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    officers = for_user(User.objects.filter(role="credit_officer", is_active=True), request.user).order_by("username")
    context = {
        "weeks": weeks, "month_start": date(year, month, 1), "today": today, "officer": officer,
        "previous": previous, "following": following, "officers": officers.distinct(),
    }  # fmt: skip
    return render(request, "inspections/calendar.html", context)


# --- the inspection page ---------------------------------------------------------------------


@require_GET
@login_required
def detail(request, inspection_id: int):
    _require_viewer(request.user)
    user, today = request.user, business_date()
    inspection = inspection_get_for_user(user=user, inspection_id=inspection_id)
    may_work = svc.can_work_on(user, inspection)
    editable = may_work and inspection.state in EDITABLE_STATES
    state = inspection.state
    branch_staff = User.objects.filter(is_active=True).exclude(role__in=["api_client", "auditor"])
    paths = [p for p in _ancestor_paths(inspection.loan.branch.path)]
    owners = branch_staff.filter(Q(branches__path__in=paths) | Q(role__in=["risk", "admin"])).distinct()
    context = {
        "inspection": inspection,
        "loan": inspection.loan,
        "today": today,
        "overdue": inspection.is_overdue_on(today),
        "editable": editable,
        "report_form": ReportForm(inspection=inspection) if editable else None,
        "missing": svc.report_missing(inspection) if editable else {},
        "can_start": may_work and state in (InspectionState.ASSIGNED, InspectionState.RETURNED),
        "can_submit": may_work and state == InspectionState.IN_PROGRESS,
        "can_review": svc.can_review(user, inspection)
        and state == InspectionState.SUBMITTED
        and inspection.officer_id != user.id,
        "can_acknowledge": svc.can_acknowledge(user, inspection) and state == InspectionState.REVIEWED,
        "can_complete": (svc.can_acknowledge(user, inspection) or user.is_superuser)
        and state == InspectionState.ACKNOWLEDGED,
        "assign_form": AssignForm(officers=officers_for_branch(inspection.loan.branch))
        if svc.can_assign(user, inspection) and state in (InspectionState.SCHEDULED, InspectionState.ASSIGNED)
        else None,
        "comments_form": CommentsForm(),
        "attachment_form": AttachmentForm() if editable else None,
        "task_form": TaskForm(owners=owners.order_by("username"))
        if state not in (InspectionState.CANCELLED,) and not user.is_read_only
        else None,
        "signoffs": inspection.signoffs.select_related("by").order_by("at", "id"),
        "attachments": inspection.attachments.order_by("id"),
        "tasks": inspection_tasks(inspection=inspection),
        "collateral": inspection.loan.collateral.order_by("id"),
        "state_info": getattr(inspection.loan, "delinquency", None),
    }
    return render(request, "inspections/detail.html", context)


def _ancestor_paths(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/".join(parts[: k + 1]) + "/" for k in range(len(parts))]


@require_POST
@login_required
def report_save(request, inspection_id: int):
    _require_viewer(request.user)
    inspection = inspection_get_for_user(user=request.user, inspection_id=inspection_id)
    if not svc.can_work_on(request.user, inspection):
        raise PermissionDenied
    form = ReportForm(request.POST, inspection=inspection)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("inspections:detail", inspection_id=inspection.id)
    submit = request.POST.get("then") == "submit"
    labels = {name: str(field.label) for name, field in form.fields.items()}
    try:
        svc.inspection_report_save(inspection=inspection, data=form.cleaned_data, acting_user=request.user)
        if submit:
            svc.inspection_submit(inspection=inspection, acting_user=request.user)
    except ApplicationError as exc:
        if exc.status_code == 403:
            raise PermissionDenied(exc.message) from exc
        if submit:
            messages.info(request, _("Report saved."))
        flash_application_error(request, exc, labels)
    else:
        messages.success(request, _("Report submitted for review.") if submit else _("Report saved."))
    return redirect("inspections:detail", inspection_id=inspection.id)


@require_POST
@login_required
def start(request, inspection_id: int):
    return _act(
        request, inspection_id, lambda i: svc.inspection_start(inspection=i, acting_user=request.user),
        _("Inspection started."),
    )  # fmt: skip


@require_POST
@login_required
def submit(request, inspection_id: int):
    return _act(
        request, inspection_id, lambda i: svc.inspection_submit(inspection=i, acting_user=request.user),
        _("Report submitted for review."),
    )  # fmt: skip


def _comments(request) -> str:
    form = CommentsForm(request.POST)
    return form.cleaned_data["comments"] if form.is_valid() else ""


@require_POST
@login_required
def return_report(request, inspection_id: int):
    comments = _comments(request)
    return _act(
        request, inspection_id,
        lambda i: svc.inspection_return(inspection=i, comments=comments, acting_user=request.user),
        _("Report returned to the officer."),
    )  # fmt: skip


@require_POST
@login_required
def review(request, inspection_id: int):
    comments = _comments(request)
    return _act(
        request, inspection_id,
        lambda i: svc.inspection_review(inspection=i, comments=comments, acting_user=request.user),
        _("Report reviewed and signed."),
    )  # fmt: skip


@require_POST
@login_required
def acknowledge(request, inspection_id: int):
    comments = _comments(request)
    return _act(
        request, inspection_id,
        lambda i: svc.inspection_acknowledge(inspection=i, comments=comments, acting_user=request.user),
        _("Report acknowledged; the signed PDF is filed in the credit file."),
    )  # fmt: skip


@require_POST
@login_required
def complete(request, inspection_id: int):
    return _act(
        request, inspection_id, lambda i: svc.inspection_complete(inspection=i, acting_user=request.user),
        _("Report completed; the signed PDF is filed in the credit file."),
    )  # fmt: skip


@require_POST
@login_required
def assign(request, inspection_id: int):
    _require_viewer(request.user)
    inspection = inspection_get_for_user(user=request.user, inspection_id=inspection_id)
    if not svc.can_assign(request.user, inspection):
        raise PermissionDenied
    form = AssignForm(request.POST, officers=officers_for_branch(inspection.loan.branch))
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("inspections:detail", inspection_id=inspection.id)
    return _act(
        request, inspection_id,
        lambda i: svc.inspection_assign(inspection=i, officer=form.cleaned_data["officer"], acting_user=request.user),
        _("Inspection assigned."),
    )  # fmt: skip


@require_POST
@login_required
def attachment_add(request, inspection_id: int):
    _require_viewer(request.user)
    inspection = inspection_get_for_user(user=request.user, inspection_id=inspection_id)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("inspections:detail", inspection_id=inspection.id)
    return _act(
        request, inspection_id,
        lambda i: svc.attachment_add(
            inspection=i, upload=form.cleaned_data["file"], kind=form.cleaned_data["kind"], acting_user=request.user
        ),
        _("Attachment added."),
    )  # fmt: skip


@require_GET
@login_required
def attachment_download(request, inspection_id: int, attachment_id: int):
    _require_viewer(request.user)
    inspection = inspection_get_for_user(user=request.user, inspection_id=inspection_id)
    attachment = get_object_or_404(InspectionAttachment, id=attachment_id, inspection=inspection)
    return FileResponse(
        attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name,
        content_type=attachment.content_type,
    )  # fmt: skip


@require_GET
@login_required
def report_download(request, inspection_id: int):
    """The signed PDF as filed in the credit file."""
    from archives.models import FileDocument

    _require_viewer(request.user)
    inspection = inspection_get_for_user(user=request.user, inspection_id=inspection_id)
    document = FileDocument.objects.filter(id=inspection.document_id).first() if inspection.document_id else None
    if document is None or not document.attachment:
        raise Http404("No signed report yet.")
    return FileResponse(
        document.attachment.open("rb"), as_attachment=False, filename=f"{inspection.document_code}.pdf",
        content_type="application/pdf",
    )  # fmt: skip


@require_POST
@login_required
def task_add(request, inspection_id: int):
    _require_viewer(request.user)
    inspection = inspection_get_for_user(user=request.user, inspection_id=inspection_id)
    form = TaskForm(request.POST, owners=User.objects.filter(is_active=True))
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("inspections:detail", inspection_id=inspection.id)
    data = form.cleaned_data
    return _act(
        request, inspection_id,
        lambda i: svc.followup_task_add(
            inspection=i, kind=data["kind"], description=data["description"], owner=data["owner"],
            due_date=data["due_date"], acting_user=request.user,
        ),
        _("Follow-up task added."),
    )  # fmt: skip


@require_POST
@login_required
def task_done(request, inspection_id: int, task_id: int):
    _require_viewer(request.user)
    inspection = inspection_get_for_user(user=request.user, inspection_id=inspection_id)
    task = get_object_or_404(FollowUpTask, id=task_id, inspection=inspection)
    return _act(
        request, inspection_id, lambda i: svc.followup_task_done(task=task, acting_user=request.user),
        _("Task done."),
    )  # fmt: skip


# --- adverse events (from the loan page) ------------------------------------------------------


@require_POST
@login_required
def adverse_event_add(request, number: str):
    _require_viewer(request.user)
    loan = for_user(Loan.objects.select_related("branch"), request.user).filter(number=number).first()
    if loan is None:
        raise Http404("Loan not found.")
    if not svc.can_record_event(request.user, loan):
        raise PermissionDenied
    form = AdverseEventForm(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form)
    else:
        data = form.cleaned_data
        try:
            svc.adverse_event_record(
                loan=loan, kind=data["kind"], occurred_on=data["occurred_on"], description=data["description"],
                acting_user=request.user,
            )  # fmt: skip
        except ApplicationError as exc:
            flash_application_error(request, exc, {n: str(f.label) for n, f in form.fields.items()})
        else:
            messages.success(request, _("Adverse event recorded; an event inspection is due within 7 days."))
    return redirect("loans:detail", loan.number)


@require_GET
@login_required
def loan_panel(request, number: str):
    """The loan page's inspections section (loaded by htmx; a page of its own without JavaScript)."""
    from inspections.panels import loan_panel_context

    _require_viewer(request.user)
    loan = for_user(Loan.objects.select_related("branch"), request.user).filter(number=number).first()
    if loan is None:
        raise Http404("Loan not found.")
    template = "inspections/includes/loan_panel.html"
    if not request.headers.get("HX-Request"):
        template = "inspections/loan_panel_page.html"
    return render(request, template, loan_panel_context(request, loan))


# --- spot-check samples (head office) --------------------------------------------------------


@require_GET
@login_required
def sample_list(request):
    if not sampling.can_view_samples(request.user):
        raise PermissionDenied
    today = business_date()
    context = {
        "samples": samples()[:40],
        "quarter": sampling.quarter_of(today),
        "form": SampleDrawForm() if sampling.can_draw_sample(request.user) else None,
    }
    return render(request, "inspections/samples.html", context)


@require_POST
@login_required
def sample_draw(request):
    if not sampling.can_draw_sample(request.user):
        raise PermissionDenied
    form = SampleDrawForm(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("inspections:samples")
    try:
        sample = sampling.spot_check_sample_draw(
            acting_user=request.user, seed=form.cleaned_data.get("seed"), rate=form.cleaned_data["rate"]
        )
    except ApplicationError as exc:
        flash_application_error(request, exc, {n: str(f.label) for n, f in form.fields.items()})
        return redirect("inspections:samples")
    messages.success(request, _("Sample drawn: review it, then assign it."))
    return redirect("inspections:sample", sample_id=sample.id)


@require_GET
@login_required
def sample_detail(request, sample_id: int):
    if not sampling.can_view_samples(request.user):
        raise PermissionDenied
    sample = get_object_or_404(SpotCheckSample.objects.select_related("drawn_by", "assigned_by"), id=sample_id)
    items = list(sample.items.select_related("loan__officer", "branch").order_by("position"))
    context = {
        "sample": sample,
        "items": items,
        "strata": sorted(sample.strata.items()),
        "can_assign": sampling.can_draw_sample(request.user) and sample.state == SpotCheckSample.State.DRAWN,
        "inspections": {i.loan_id: i for i in sample.inspections.select_related("officer")},
    }
    return render(request, "inspections/sample.html", context)


@require_POST
@login_required
def sample_assign(request, sample_id: int):
    if not sampling.can_draw_sample(request.user):
        raise PermissionDenied
    sample = get_object_or_404(SpotCheckSample, id=sample_id)
    try:
        created = sampling.spot_check_sample_assign(
            sample=sample, acting_user=request.user, independent=request.POST.get("independent") == "on"
        )
    except ApplicationError as exc:
        flash_application_error(request, exc)
    else:
        messages.success(request, _("%(n)d spot-check inspections assigned.") % {"n": created})
    return redirect("inspections:sample", sample_id=sample.id)


def sees_everything(user) -> bool:
    return visible_paths(user) is None
