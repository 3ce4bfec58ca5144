"""Archives pages: the archivist's desk (files by state) and the credit file page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from archives.forms import (
    BorrowRequestForm,
    CloseForm,
    ConsultForm,
    ContractConfirmForm,
    CreditFileFilterForm,
    DocumentMarkForm,
    HandoffAcceptForm,
    HandoffRejectForm,
    IncidentForm,
    ReleaseSignForm,
    ResolveForm,
)
from archives.labels import file_label_code
from archives.models import CreditFile, FileDocument, Level
from archives.selectors import LIST_PAGE_SIZE, credit_file_events, credit_file_get_for_user, credit_file_page_list
from archives.services.custody import (
    can_report_incident,
    can_request_borrow,
    can_resolve_incident,
    release_missing_signatures,
)
from archives.services.files import (
    can_assemble_file,
    can_receive_handoff,
    credit_file_check,
    credit_file_handoff_accept,
    credit_file_handoff_reject,
    credit_file_handoff_submit,
    credit_file_missing,
    file_contract_confirm,
    file_document_mark,
)
from loanops.core.exceptions import ApplicationError
from loanops.core.flash import flash_form_errors
from loans.forms import page_number
from loans.models import Loan

State = CreditFile.State


def can_view_files(user) -> bool:
    """Every staff role reads credit files (scoped to its branches); API clients use the API."""
    return user.is_authenticated and user.is_back_office


def _require_viewer(user) -> None:
    if not can_view_files(user):
        raise PermissionDenied


def _error_messages(request, exc: ApplicationError) -> None:
    messages.error(request, exc.message)


@require_GET
@login_required
def file_list(request):
    _require_viewer(request.user)
    form = CreditFileFilterForm(request.GET)
    page = None
    if form.is_valid():
        page = credit_file_page_list(
            user=request.user, filters=form.filters, page=page_number(request.GET.get("page")), page_size=LIST_PAGE_SIZE
        )
    return render(request, "archives/list.html", {"form": form, "page": page})


@require_GET
@login_required
def file_detail(request, file_id: int):
    _require_viewer(request.user)
    user = request.user
    file = credit_file_get_for_user(user=user, file_id=file_id)
    documents = list(file.documents.all())
    in_place = [doc for doc in documents if doc.location and doc.condition == FileDocument.Condition.OK]
    may_assemble = can_assemble_file(user) and file.state in (State.COLLECTING, State.OFFICER_CHECKED)
    may_receive = (
        can_receive_handoff(user) and file.state == State.HANDOFF_PENDING and file.handoff_submitted_by_id != user.id
    )
    settled = file.loan.status == Loan.Status.CLOSED
    custodian = can_receive_handoff(user)
    in_custody = file.state in (State.ARCHIVED, State.RELEASED, State.CLOSED_ARCHIVE, State.INCIDENT)
    context = {
        "file": file,
        "documents": documents,
        "missing": credit_file_missing(file, documents),
        "events": credit_file_events(file=file),
        "can_collect": may_assemble and file.state == State.COLLECTING,
        "can_submit": may_assemble and file.state == State.OFFICER_CHECKED,
        "contract_form": ContractConfirmForm(file=file),
        "accept_form": HandoffAcceptForm(file=file) if may_receive else None,
        "reject_form": HandoffRejectForm() if may_receive else None,
        "needs_vault": any(doc.present and doc.level == Level.ONE for doc in documents),
        "needs_archive": any(doc.present and doc.level == Level.TWO for doc in documents),
        "label_code": file_label_code(file.id),
        "action": request.GET.get("action", ""),
        "borrow_requests": file.borrow_requests.select_related("requested_by").order_by("-id")[:20],
        "borrow_form": (
            BorrowRequestForm(documents=in_place)
            if can_request_borrow(user) and file.state in (State.ARCHIVED, State.ON_LOAN) and in_place
            else None
        ),
        "consult_form": ConsultForm(documents=in_place) if custodian and in_custody else None,
        "incidents": file.incidents.select_related("document", "reported_by", "resolved_by").order_by("-id"),
        "incident_form": (
            IncidentForm(documents=[d for d in documents if d.present and d.condition == FileDocument.Condition.OK])
            if can_report_incident(user) and file.state not in (State.RELEASED, State.CLOSED_ARCHIVE)
            else None
        ),
        "resolve_form": ResolveForm() if can_resolve_incident(user) else None,
        "settled": settled,
        "signatures": file.release_signatures.select_related("signed_by") if settled else [],
        "missing_signatures": release_missing_signatures(file) if settled and file.state == State.ARCHIVED else [],
        "sign_form": (
            ReleaseSignForm()
            if settled and file.state == State.ARCHIVED and (custodian or can_assemble_file(user))
            else None
        ),
        "can_release": settled and custodian and file.state == State.ARCHIVED and needs_release(documents),
        "close_form": (
            CloseForm(file=file) if settled and custodian and file.state in (State.ARCHIVED, State.RELEASED) else None
        ),
    }
    return render(request, "archives/detail.html", context)


def needs_release(documents) -> bool:
    return any(
        doc.level == Level.ONE and doc.present and doc.location and not doc.released_on and doc.condition == "ok"
        for doc in documents
    )


def _post_action(request, file_id: int, action) -> object:
    """Common shape of the file page's forms: scoped fetch, call the service, messages, redirect."""
    _require_viewer(request.user)
    file = credit_file_get_for_user(user=request.user, file_id=file_id)
    try:
        done = action(file)
    except ApplicationError as exc:
        if exc.status_code == 403:
            raise PermissionDenied from exc
        _error_messages(request, exc)
    else:
        if done:
            messages.success(request, done)
    return redirect("archives:detail", file_id=file.id)


@require_POST
@login_required
def document_mark(request, file_id: int, code: str):
    form = DocumentMarkForm(request.POST)

    def action(file):
        if not form.is_valid():
            flash_form_errors(request, form)
            return None
        present = form.cleaned_data["present"]
        pages = form.cleaned_data["pages"] or 0
        document = file_document_mark(file=file, code=code, present=present, pages=pages, acting_user=request.user)
        return _("%(name)s recorded.") % {"name": document.name}

    return _post_action(request, file_id, action)


@require_POST
@login_required
def contract_confirm(request, file_id: int):
    def action(file):
        form = ContractConfirmForm(request.POST)
        form.is_valid()  # booleans: always valid
        file_contract_confirm(file=file, elements=form.cleaned_data, acting_user=request.user)
        return _("Contract elements saved.")

    return _post_action(request, file_id, action)


@require_POST
@login_required
def file_check(request, file_id: int):
    def action(file):
        credit_file_check(file=file, acting_user=request.user)
        return _("The file is checked: nothing required is missing.")

    return _post_action(request, file_id, action)


@require_POST
@login_required
def handoff_submit(request, file_id: int):
    def action(file):
        credit_file_handoff_submit(file=file, acting_user=request.user)
        return _("Handoff submitted: the archivist or vault custodian signs to receive it.")

    return _post_action(request, file_id, action)


@require_POST
@login_required
def handoff_accept(request, file_id: int):
    def action(file):
        if not can_receive_handoff(request.user):
            raise PermissionDenied
        form = HandoffAcceptForm(request.POST, file=file)
        if not form.is_valid():
            flash_form_errors(request, form)
            return None
        locations = {Level.ONE: form.cleaned_data["vault_location"], Level.TWO: form.cleaned_data["archive_location"]}
        credit_file_handoff_accept(file=file, acting_user=request.user, locations=locations)
        return _("Handoff accepted: the file is archived.")

    return _post_action(request, file_id, action)


@require_POST
@login_required
def handoff_reject(request, file_id: int):
    form = HandoffRejectForm(request.POST)

    def action(file):
        if not form.is_valid():
            flash_form_errors(request, form)
            return None
        credit_file_handoff_reject(file=file, defects=form.cleaned_data["defects"], acting_user=request.user)
        return _("Handoff rejected: the file is back with the officer.")

    return _post_action(request, file_id, action)
