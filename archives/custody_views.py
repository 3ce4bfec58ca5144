"""Custody pages after the handoff: the archivist's desk, the scan page, labels, locations,
borrowing requests, consultation, incidents, release and close, alerts and the custody reports."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from archives.forms import (
    BorrowRequestForm,
    CloseForm,
    ConsultForm,
    DeclineForm,
    IncidentForm,
    LocationForm,
    ReleaseSignForm,
    ResolveForm,
    ReturnForm,
    ScanForm,
)
from archives.labels import labels_for_files, scan_target
from archives.models import Area, BorrowRequest, CreditFile, FileDocument, Level
from archives.selectors import (
    alerts_for_user,
    borrow_request_get_for_user,
    credit_file_get_for_user,
    credit_file_list_for_user,
    custody_discrepancies_for_user,
    destruction_list_for_user,
    files_on_loan_for_user,
    incidents_for_user,
    inventory_for_user,
    pending_borrow_requests_for_user,
    pending_handoffs_for_user,
    storage_location_documents,
)
from archives.services.custody import (
    APPROVALS_NEEDED,
    borrow_approve,
    borrow_decline,
    borrow_release,
    borrow_request_create,
    borrow_return,
    can_approve_borrow,
    can_manage_locations,
    credit_file_close,
    credit_file_release,
    file_consult,
    incident_open,
    incident_resolve,
    release_sign,
    storage_location_create,
)
from archives.services.files import can_receive_handoff
from archives.views import can_view_files
from loanops.core.exceptions import ApplicationError
from loanops.core.flash import flash_application_error, flash_form_errors
from loanops.core.time import business_date
from loanops.org.models import Branch
from loanops.org.scoping import for_user

DESK_ROWS = 50
LABEL_FILES_MAX = 60


def _require_viewer(user) -> None:
    if not can_view_files(user):
        raise PermissionDenied


def _run(request, action, done_url: str):
    """Call ACTION (returns a success message or None); application errors become page messages."""
    try:
        done = action()
    except ApplicationError as exc:
        if exc.status_code == 403:
            raise PermissionDenied from exc
        messages.error(request, exc.message)
        if exc.status_code == 400 and exc.extra and all(isinstance(v, list | tuple) for v in exc.extra.values()):
            flash_application_error(request, exc)  # and the field messages
    else:
        if done:
            messages.success(request, done)
    return redirect(done_url)


# --- desk, scan and labels --------------------------------------------------------------------


@require_GET
@login_required
def desk(request):
    _require_viewer(request.user)
    user = request.user
    today = business_date()
    inventory = inventory_for_user(user=user)
    context = {
        "today": today,
        "handoffs": list(pending_handoffs_for_user(user=user)[:DESK_ROWS]),
        "requests": list(pending_borrow_requests_for_user(user=user)[:DESK_ROWS]),
        "on_loan": files_on_loan_for_user(user=user, as_of=today)[:DESK_ROWS],
        "incidents": list(incidents_for_user(user=user)[:DESK_ROWS]),
        "inventory": [(area, [row for row in inventory if row.area == area.value]) for area in Area],
        "alerts": list(alerts_for_user(user=user, mine=False).filter(alert_date__gte=today.replace(day=1))[:DESK_ROWS]),
    }
    context["overdue_count"] = sum(1 for row in context["on_loan"] if row.overdue)
    return render(request, "archives/desk.html", context)


@require_GET
@login_required
def scan(request):
    """A keyboard-wedge scanner types the label code and Enter into the focused field."""
    _require_viewer(request.user)
    form = ScanForm(request.GET or None)
    if form.is_bound and form.is_valid():
        target = scan_target(code=form.cleaned_data["code"], user=request.user)
        if target is not None:
            return redirect(target.url)
        messages.error(request, _("No credit file of yours has the code “%s”.") % form.cleaned_data["code"])
        form = ScanForm()
    return render(request, "archives/scan.html", {"form": form})


def _label_files(request, ids: list[int]) -> list[CreditFile]:
    files = list(
        credit_file_list_for_user(user=request.user).filter(id__in=ids[:LABEL_FILES_MAX]).prefetch_related("documents")
    )
    if not files:
        raise Http404(_("Credit file not found."))
    return sorted(files, key=lambda f: ids.index(f.id))


def _ids(request, file_id: int | None) -> list[int]:
    if file_id is not None:
        return [file_id]
    return [int(value) for value in request.GET.getlist("file") if value.isdigit()]


@require_GET
@login_required
def labels(request, file_id: int | None = None):
    _require_viewer(request.user)
    files = _label_files(request, _ids(request, file_id))
    ids = "&".join(f"file={f.id}" for f in files)
    return render(
        request, "archives/labels.html", {"labels": labels_for_files(files), "files": files, "pdf_query": ids}
    )


@require_GET
@login_required
def labels_pdf(request, file_id: int | None = None):
    """The label sheet as a PDF (WeasyPrint), in the user's language."""
    from weasyprint import HTML

    _require_viewer(request.user)
    files = _label_files(request, _ids(request, file_id))
    with translation.override(request.user.language or translation.get_language()):
        html = render_to_string("archives/labels_pdf.html", {"labels": labels_for_files(files)})
    pdf = HTML(string=html).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"labels-{files[0].id}.pdf" if len(files) == 1 else "labels.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


# --- locations --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def locations(request):
    _require_viewer(request.user)
    branches = list(for_user(Branch.objects.filter(depth__gte=2), request.user).order_by("code"))
    form = LocationForm(request.POST or None, branches=branches) if can_manage_locations(request.user) else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            branch = next(b for b in branches if str(b.id) == data["branch"])

            def action():
                location = storage_location_create(
                    branch=branch, area=data["area"], room=data["room"], cabinet=data["cabinet"],
                    shelf=data["shelf"], box=data["box"], acting_user=request.user,
                )  # fmt: skip
                return _("Location %s created.") % location.path

            return _run(request, action, reverse("archives:locations"))
        flash_form_errors(request, form)
    return render(request, "archives/locations.html", {"rows": inventory_for_user(user=request.user), "form": form})


@require_GET
@login_required
def location_detail(request, location_id: int):
    _require_viewer(request.user)
    location, documents = storage_location_documents(user=request.user, location_id=location_id)
    return render(request, "archives/location_detail.html", {"location": location, "documents": documents})


# --- borrowing --------------------------------------------------------------------------------


@require_POST
@login_required
def borrow_create(request, file_id: int):
    _require_viewer(request.user)
    file = credit_file_get_for_user(user=request.user, file_id=file_id)
    in_place = [d for d in file.documents.all() if d.location and d.condition == FileDocument.Condition.OK]
    form = BorrowRequestForm(request.POST, documents=in_place)
    detail = reverse("archives:detail", args=[file.id])
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect(detail)
    data = form.cleaned_data
    try:
        borrow = borrow_request_create(
            file=file, document_codes=data["documents"], purpose=data["purpose"], reason=data["reason"],
            return_on=data["return_on"], acting_user=request.user,
        )  # fmt: skip
    except ApplicationError as exc:
        if exc.status_code == 403:
            raise PermissionDenied from exc
        flash_application_error(request, exc, {name: field.label for name, field in form.fields.items()})
        return redirect(detail)
    messages.success(request, _("Borrowing request #%s recorded: it waits for approval.") % borrow.id)
    return redirect("archives:borrow", request_id=borrow.id)


@require_GET
@login_required
def borrow_detail(request, request_id: int):
    _require_viewer(request.user)
    user = request.user
    borrow = borrow_request_get_for_user(user=user, request_id=request_id)
    documents = list(borrow.documents.all())
    approvals = list(borrow.approvals.all())
    may_approve = (
        can_approve_borrow(user)
        and borrow.state == BorrowRequest.State.REQUESTED
        and borrow.requested_by_id != user.id
        and all(a.approver_id != user.id for a in approvals)
    )
    context = {
        "borrow": borrow,
        "documents": documents,
        "approvals": approvals,
        "needed": APPROVALS_NEEDED[borrow.level],
        "overdue": borrow.is_overdue(business_date()),
        "can_approve": may_approve,
        "decline_form": DeclineForm()
        if may_approve or (can_approve_borrow(user) and borrow.state == "approved")
        else None,
        "can_lend": can_receive_handoff(user)
        and borrow.state == BorrowRequest.State.APPROVED
        and borrow.requested_by_id != user.id,
        "second_custodian": borrow.level == Level.ONE and borrow.release_first_by_id is not None,
        "return_form": (
            ReturnForm(documents=documents)
            if can_receive_handoff(user) and borrow.state == BorrowRequest.State.ON_LOAN
            else None
        ),
    }
    return render(request, "archives/borrow.html", context)


def _borrow_action(request, request_id: int, action):
    _require_viewer(request.user)
    borrow = borrow_request_get_for_user(user=request.user, request_id=request_id)
    return _run(request, lambda: action(borrow), reverse("archives:borrow", args=[borrow.id]))


@require_POST
@login_required
def borrow_approve_view(request, request_id: int):
    def action(borrow):
        borrow = borrow_approve(request=borrow, acting_user=request.user)
        if borrow.state == BorrowRequest.State.APPROVED:
            return _("Approved: the custodian can lend the documents.")
        return _("Approval recorded: a second approver is needed.")

    return _borrow_action(request, request_id, action)


@require_POST
@login_required
def borrow_decline_view(request, request_id: int):
    form = DeclineForm(request.POST)

    def action(borrow):
        if not form.is_valid():
            flash_form_errors(request, form)
            return None
        borrow_decline(request=borrow, reason=form.cleaned_data["reason"], acting_user=request.user)
        return _("Request declined.")

    return _borrow_action(request, request_id, action)


@require_POST
@login_required
def borrow_lend_view(request, request_id: int):
    def action(borrow):
        borrow = borrow_release(request=borrow, acting_user=request.user)
        if borrow.state == BorrowRequest.State.ON_LOAN:
            return _("Lent: due back on %s.") % borrow.return_due.isoformat()
        return _("First custodian signed: a second custodian completes the release from the vault.")

    return _borrow_action(request, request_id, action)


@require_POST
@login_required
def borrow_return_view(request, request_id: int):
    def action(borrow):
        form = ReturnForm(request.POST, documents=list(borrow.documents.all()))
        if not form.is_valid():
            flash_form_errors(request, form)
            return None
        _borrow, incidents = borrow_return(
            request=borrow, returned_codes=form.cleaned_data["returned"], acting_user=request.user
        )
        if incidents:
            messages.warning(
                request,
                _("Missing at the return: %s. An incident was opened for each.")
                % ", ".join(i.document.name for i in incidents),
            )
        return _("Return recorded.")

    return _borrow_action(request, request_id, action)


# --- consultation, incidents, release and close -----------------------------------------------


def _file_action(request, file_id: int, action):
    _require_viewer(request.user)
    file = credit_file_get_for_user(user=request.user, file_id=file_id)
    return _run(request, lambda: action(file), reverse("archives:detail", args=[file.id]))


def _in_place(file):
    return [d for d in file.documents.all() if d.location and d.condition == FileDocument.Condition.OK]


@require_POST
@login_required
def consult_view(request, file_id: int):
    def action(file):
        form = ConsultForm(request.POST, documents=_in_place(file))
        if not form.is_valid():
            flash_form_errors(request, form)
            return None
        data = form.cleaned_data
        file_consult(
            file=file, reader=data["reader"], purpose=data["purpose"], document_codes=data["documents"],
            acting_user=request.user,
        )  # fmt: skip
        return _("Consultation logged.")

    return _file_action(request, file_id, action)


@require_POST
@login_required
def incident_open_view(request, file_id: int):
    def action(file):
        documents = [d for d in file.documents.all() if d.present and d.condition == FileDocument.Condition.OK]
        form = IncidentForm(request.POST, documents=documents)
        if not form.is_valid():
            flash_form_errors(request, form)
            return None
        data = form.cleaned_data
        incident_open(
            file=file, document_code=data["document"], kind=data["kind"], description=data["description"],
            acting_user=request.user,
        )  # fmt: skip
        return _("Incident reported: the file is blocked until it is resolved.")

    return _file_action(request, file_id, action)


@require_POST
@login_required
def incident_resolve_view(request, incident_id: int):
    _require_viewer(request.user)
    incident = incidents_for_user(user=request.user, open_only=False).filter(id=incident_id).first()
    if incident is None:
        raise Http404(_("Incident not found."))
    form = ResolveForm(request.POST)

    def action():
        if not form.is_valid():
            flash_form_errors(request, form)
            return None
        data = form.cleaned_data
        incident_resolve(incident=incident, resolution=data["resolution"], note=data["note"], acting_user=request.user)
        return _("Incident resolved.")

    return _run(request, action, reverse("archives:detail", args=[incident.file_id]))


@require_POST
@login_required
def release_sign_view(request, file_id: int):
    form = ReleaseSignForm(request.POST)

    def action(file):
        if not form.is_valid():
            flash_form_errors(request, form)
            return None
        data = form.cleaned_data
        signature = release_sign(
            file=file, party=data["party"], borrower_name=data["borrower_name"],
            borrower_id_document=data["borrower_id_document"], acting_user=request.user,
        )  # fmt: skip
        return _("Signature recorded: %s.") % signature.get_party_display()

    return _file_action(request, file_id, action)


@require_POST
@login_required
def release_view(request, file_id: int):
    def action(file):
        credit_file_release(file=file, acting_user=request.user)
        return _("Level-1 documents released to the borrower.")

    return _file_action(request, file_id, action)


@require_POST
@login_required
def close_view(request, file_id: int):
    def action(file):
        form = CloseForm(request.POST, file=file)
        if not form.is_valid():
            flash_form_errors(request, form)
            return None
        credit_file_close(file=file, location=form.cleaned_data["location"] or None, acting_user=request.user)
        return _("The file is in the closed archive.")

    return _file_action(request, file_id, action)


# --- alerts and reports -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def alerts(request):
    """The user's own custody alerts (the borrower of an overdue file, the archivist, the branch head)."""
    _require_viewer(request.user)
    if request.method == "POST":
        alerts_for_user(user=request.user).filter(read_at__isnull=True).update(read_at=timezone.now())
        messages.success(request, _("Alerts marked as read."))
        return redirect("archives:alerts")
    rows = list(alerts_for_user(user=request.user)[:200])
    return render(request, "archives/alerts.html", {"alerts": rows, "unread": any(a.read_at is None for a in rows)})


@require_GET
@login_required
def discrepancies(request):
    _require_viewer(request.user)
    rows = list(custody_discrepancies_for_user(user=request.user)[:500])
    return render(request, "archives/discrepancies.html", {"rows": rows})


@require_GET
@login_required
def destruction_list(request):
    _require_viewer(request.user)
    today = business_date()
    rows = list(destruction_list_for_user(user=request.user, as_of=today)[:500])
    return render(request, "archives/destruction.html", {"rows": rows, "today": today})
