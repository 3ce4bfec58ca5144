"""Reads for the archives pages, API and the loan page. Every lookup goes through `for_user`."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from archives.models import CreditFile, CustodyEvent, FileDocument
from loanops.core.pages import CountlessPage, countless_page
from loanops.org.scoping import for_user

LIST_PAGE_SIZE = 50


def _documents_prefetch() -> Prefetch:
    return Prefetch("documents", queryset=FileDocument.objects.order_by("order", "id"))


def credit_file_list_for_user(*, user, filters: dict | None = None) -> QuerySet[CreditFile]:
    """Files the user may see, with what lists render; FILTERS: loan_number, state, flagged_late."""
    filters = filters or {}
    qs = for_user(CreditFile.objects.all(), user).select_related("loan", "loan__branch", "loan__borrower")
    if filters.get("loan_number"):
        qs = qs.filter(loan__number=filters["loan_number"])
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("flagged_late"):
        qs = qs.filter(flagged_late=True)
    return qs


def credit_file_feed_for_user(*, user) -> QuerySet[CreditFile]:
    """The API feed: files with their documents in checklist order."""
    return (
        for_user(CreditFile.objects.all(), user).select_related("loan").prefetch_related(_documents_prefetch())
    ).order_by("id")


def credit_file_page_list(*, user, filters: dict, page: int, page_size: int = LIST_PAGE_SIZE) -> CountlessPage:
    """One page of the archivist's desk, without a COUNT."""
    files = credit_file_list_for_user(user=user, filters=filters).order_by("-id")
    return countless_page(files, number=page, size=page_size)


def credit_file_get_for_user(*, user, file_id: int) -> CreditFile:
    file = (
        credit_file_list_for_user(user=user)
        .select_related("checked_by", "handoff_submitted_by", "handoff_accepted_by")
        .prefetch_related(
            Prefetch("documents", queryset=FileDocument.objects.select_related("holder").order_by("order", "id"))
        )
        .filter(id=file_id)
        .first()
    )
    if file is None:
        raise Http404(_("Credit file not found."))
    return file


def credit_file_events(*, file: CreditFile) -> QuerySet[CustodyEvent]:
    return (
        CustodyEvent.objects.filter(file=file)
        .select_related("document", "by", "from_holder", "to_holder")
        .order_by("at", "id")
    )


def credit_file_for_loan(*, loan) -> tuple[CreditFile | None, list[FileDocument]]:
    """The loan page's panel: the file and its documents in one query (two for a file without
    documents), to keep the loan page within its query budget."""
    documents = list(FileDocument.objects.filter(file__loan=loan).select_related("file").order_by("order", "id"))
    if documents:
        return documents[0].file, documents
    return CreditFile.objects.filter(loan=loan).first(), []
