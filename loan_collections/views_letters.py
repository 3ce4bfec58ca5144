"""Letters pages: the list (filters, downloads, print batches), one letter with its delivery
evidence, the case page section, the ad-hoc letter form. PDFs are streamed only to users whose
branch scope includes the loan; nothing is served from a public media URL."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Max, QuerySet
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from loan_collections.forms_letters import AdHocLetterForm, DeliveryForm, LetterFilterForm, PrintBatchForm
from loan_collections.models import CollectionCase, DeliveryEvidence, Letter, PrintBatch
from loan_collections.sections import register_case_section
from loan_collections.selectors import case_get_for_user
from loan_collections.services.letters import (
    can_print,
    can_record_delivery,
    can_request_letter,
    letter_delivery_record,
    letter_request,
    letter_retry,
    print_batch_create,
)
from loanops.core.exceptions import ApplicationError
from loanops.core.flash import flash_application_error, flash_form_errors
from loanops.core.pages import countless_page
from loanops.core.time import business_date
from loanops.org.scoping import for_user
from loans.forms import page_number

PAGE_SIZE = 50


def can_view_letters(user) -> bool:
    return user.is_authenticated and user.is_back_office


def _require_viewer(user) -> None:
    if not can_view_letters(user):
        raise PermissionDenied


# --- reads (scoped) --------------------------------------------------------------------------------


def letter_list_for_user(*, user, filters: dict | None = None) -> QuerySet[Letter]:
    filters = filters or {}
    qs = for_user(Letter.objects.all(), user).select_related("branch", "case__loan")
    if filters.get("branch"):
        qs = qs.filter(branch__code=filters["branch"])
    if filters.get("letter_type"):
        qs = qs.filter(letter_type=filters["letter_type"])
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("date_from"):
        qs = qs.filter(requested_on__gte=filters["date_from"])
    if filters.get("date_to"):
        qs = qs.filter(requested_on__lte=filters["date_to"])
    return qs.defer("snapshot")


def letter_get_for_user(*, user, letter_id: int) -> Letter:
    letter = (
        for_user(Letter.objects.all(), user)
        .select_related("branch", "case__loan__borrower")
        .filter(id=letter_id)
        .first()
    )
    if letter is None:
        raise Http404("Letter not found.")
    return letter


# --- pages ---------------------------------------------------------------------------------------


@require_GET
@login_required
def letter_list(request):
    _require_viewer(request.user)
    form = LetterFilterForm(request.GET)
    page = None
    if form.is_valid():
        letters = letter_list_for_user(user=request.user, filters=form.filters).order_by("-requested_on", "-id")
        page = countless_page(letters, number=page_number(request.GET.get("page")), size=PAGE_SIZE)
    batches = for_user(PrintBatch.objects.all(), request.user).select_related("branch").order_by("-on_date", "-id")[:20]
    context = {
        "form": form,
        "page": page,
        "batches": batches,
        "batch_form": PrintBatchForm(user=request.user, initial={"on_date": business_date()})
        if can_print(request.user)
        else None,
    }
    return render(request, "collections/letters/list.html", context)


@require_GET
@login_required
def letter_detail(request, letter_id: int):
    _require_viewer(request.user)
    letter = letter_get_for_user(user=request.user, letter_id=letter_id)
    context = {
        "letter": letter,
        "s": letter.snapshot,
        "deliveries": DeliveryEvidence.objects.filter(letter=letter).select_related("recorded_by"),
        "delivery_form": DeliveryForm(initial={"delivered_on": business_date()})
        if can_record_delivery(request.user, letter) and letter.state == Letter.State.RENDERED
        else None,
        "may_retry": letter.state == Letter.State.FAILED and can_record_delivery(request.user, letter),
    }
    return render(request, "collections/letters/detail.html", context)


@require_GET
@login_required
def letter_pdf(request, letter_id: int):
    _require_viewer(request.user)
    letter = letter_get_for_user(user=request.user, letter_id=letter_id)
    if letter.state != Letter.State.RENDERED or not letter.pdf:
        raise Http404("The letter has not been rendered yet.")
    return FileResponse(letter.pdf.open("rb"), content_type="application/pdf", filename=f"{letter.number}.pdf")


@require_GET
@login_required
def print_batch_pdf(request, batch_id: int):
    _require_viewer(request.user)
    batch = for_user(PrintBatch.objects.all(), request.user).select_related("branch").filter(id=batch_id).first()
    if batch is None or batch.state != PrintBatch.State.RENDERED or not batch.pdf:
        raise Http404("Print batch not found or not ready.")
    name = f"letters-{batch.branch.code}-{batch.on_date.isoformat()}-{batch.sequence}.pdf"
    return FileResponse(batch.pdf.open("rb"), content_type="application/pdf", filename=name)


@require_POST
@login_required
def print_batch_new(request):
    if not can_print(request.user):
        raise PermissionDenied
    form = PrintBatchForm(request.POST, user=request.user)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("collections:letters")
    try:
        batch = print_batch_create(
            branch=form.cleaned_data["branch"], on_date=form.cleaned_data["on_date"], acting_user=request.user
        )
    except ApplicationError as exc:
        flash_application_error(request, exc)
    else:
        if batch is None:
            messages.info(request, _("No rendered letters left to print for that branch and day."))
        else:
            messages.success(
                request,
                _("Print batch prepared with %(n)d letters; the PDF is being rendered.") % {"n": batch.letter_count},
            )
    return redirect("collections:letters")


@require_POST
@login_required
def letter_new(request, case_id: int):
    case = case_get_for_user(user=request.user, case_id=case_id)
    if not can_request_letter(request.user, case):
        raise PermissionDenied
    form = AdHocLetterForm(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("collections:detail", case_id=case.id)
    try:
        letter_request(
            case=case, letter_type=form.cleaned_data["letter_type"], note=form.cleaned_data["note"],
            acting_user=request.user,
        )  # fmt: skip
    except ApplicationError as exc:
        flash_application_error(request, exc, {name: field.label for name, field in form.fields.items()})
    else:
        messages.success(request, _("Letter requested; it will be numbered and rendered in a moment."))
    return redirect("collections:detail", case_id=case.id)


@require_POST
@login_required
def letter_delivery(request, letter_id: int):
    letter = letter_get_for_user(user=request.user, letter_id=letter_id)
    if not can_record_delivery(request.user, letter):
        raise PermissionDenied
    form = DeliveryForm(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("collections:letter-detail", letter_id=letter.id)
    try:
        letter_delivery_record(letter=letter, acting_user=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        flash_application_error(request, exc, {name: field.label for name, field in form.fields.items()})
    else:
        messages.success(request, _("Delivery evidence recorded."))
    return redirect("collections:letter-detail", letter_id=letter.id)


@require_POST
@login_required
def letter_retry_view(request, letter_id: int):
    letter = letter_get_for_user(user=request.user, letter_id=letter_id)
    try:
        letter_retry(letter=letter, acting_user=request.user)
    except ApplicationError as exc:
        flash_application_error(request, exc)
    else:
        messages.success(request, _("The letter is back in the queue."))
    return redirect("collections:letter-detail", letter_id=letter.id)


# --- the case page section -----------------------------------------------------------------------


@register_case_section(order=30)
def letters_section(request, case: CollectionCase):
    letters = list(Letter.objects.filter(case=case).defer("snapshot").order_by("-requested_on", "-id"))
    limitation = Letter.objects.filter(case=case).aggregate(m=Max("limitation_expiry"))["m"]
    may_request = case.status == CollectionCase.Status.OPEN and can_request_letter(request.user, case)
    return {
        "id": "letters",
        "title": gettext_lazy("Letters"),
        "template": "collections/letters/includes/case_section.html",
        "context": {
            "case": case,
            "letters": letters,
            "limitation_expiry": limitation,
            "form": AdHocLetterForm() if may_request else None,
        },
    }
