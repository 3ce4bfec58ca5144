"""Archives pages: the archivist's desk (files by state) and the credit file page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from archives.forms import (
    ContractConfirmForm,
    CreditFileFilterForm,
    DocumentMarkForm,
    HandoffAcceptForm,
    HandoffRejectForm,
)
from archives.models import CreditFile, Level
from archives.selectors import LIST_PAGE_SIZE, credit_file_events, credit_file_get_for_user, credit_file_page_list
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
    file = credit_file_get_for_user(user=request.user, file_id=file_id)
    documents = list(file.documents.all())
    may_assemble = can_assemble_file(request.user) and file.state in (State.COLLECTING, State.OFFICER_CHECKED)
    may_receive = (
        can_receive_handoff(request.user)
        and file.state == State.HANDOFF_PENDING
        and file.handoff_submitted_by_id != request.user.id
    )
    context = {
        "file": file,
        "documents": documents,
        "missing": credit_file_missing(file, documents),
        "events": credit_file_events(file=file),
        "can_collect": may_assemble and file.state == State.COLLECTING,
        "can_submit": may_assemble and file.state == State.OFFICER_CHECKED,
        "contract_form": ContractConfirmForm(file=file),
        "accept_form": HandoffAcceptForm() if may_receive else None,
        "reject_form": HandoffRejectForm() if may_receive else None,
        "needs_vault": any(doc.present and doc.level == Level.ONE for doc in documents),
        "needs_archive": any(doc.present and doc.level == Level.TWO for doc in documents),
    }
    return render(request, "archives/detail.html", context)


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
    form = HandoffAcceptForm(request.POST)

    def action(file):
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
