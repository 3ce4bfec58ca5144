"""Reads for the archives pages, API and the loan page. Every lookup goes through `for_user`."""

from datetime import date

from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext as _

from archives.models import (
    BorrowRequest,
    CreditFile,
    CustodyAlert,
    CustodyEvent,
    FileDocument,
    Incident,
    StorageLocation,
)
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


# --- custody after the handoff ----------------------------------------------------------------

# Event kinds that move a document: their to_location / to_holder is where it is afterwards.
MOVEMENT_KINDS = (
    CustodyEvent.Kind.COLLECTED,
    CustodyEvent.Kind.UNCOLLECTED,
    CustodyEvent.Kind.STORED,
    CustodyEvent.Kind.LENT,
    CustodyEvent.Kind.RETURNED,
    CustodyEvent.Kind.INCIDENT_OPENED,
    CustodyEvent.Kind.INCIDENT_RESOLVED,
    CustodyEvent.Kind.RELEASED,
    CustodyEvent.Kind.CLOSED,
)


def custody_discrepancies_for_user(*, user) -> QuerySet[FileDocument]:
    """Documents whose stored place or holder is not where their custody events put them: the
    last movement's destination is replayed against the document row (no movement: nowhere,
    nobody). One query, scoped to the user's branches."""
    # Registration order (the id) is the order of the movements: the register is append-only.
    last = CustodyEvent.objects.filter(document=OuterRef("pk"), kind__in=MOVEMENT_KINDS).order_by("-id")
    return (
        for_user(FileDocument.objects.all(), user)
        .annotate(
            expected_location=Coalesce(Subquery(last.values("to_location")[:1]), Value("")),
            expected_holder_id=Subquery(last.values("to_holder_id")[:1]),
            holder_key=Coalesce(F("holder_id"), Value(0), output_field=IntegerField()),
            expected_holder_key=Coalesce(F("expected_holder_id"), Value(0), output_field=IntegerField()),
        )
        .exclude(location=F("expected_location"), holder_key=F("expected_holder_key"))
        .select_related("file__loan", "holder")
        .order_by("file_id", "order", "id")
    )


def borrow_requests_for_user(*, user) -> QuerySet[BorrowRequest]:
    return for_user(BorrowRequest.objects.all(), user).select_related(
        "file__loan", "requested_by", "release_first_by", "released_by"
    )


def borrow_request_get_for_user(*, user, request_id: int) -> BorrowRequest:
    request = (
        borrow_requests_for_user(user=user)
        .prefetch_related("approvals__approver", Prefetch("documents", queryset=FileDocument.objects.order_by("order")))
        .filter(id=request_id)
        .first()
    )
    if request is None:
        raise Http404(_("Borrowing request not found."))
    return request


def files_on_loan_for_user(*, user, as_of: date) -> list[BorrowRequest]:
    """Requests out on loan, the overdue ones first, with `overdue` set."""
    rows = list(
        borrow_requests_for_user(user=user).filter(state=BorrowRequest.State.ON_LOAN).order_by("return_due", "id")
    )
    for row in rows:
        row.overdue = row.is_overdue(as_of)
    return rows


def pending_borrow_requests_for_user(*, user) -> QuerySet[BorrowRequest]:
    states = (BorrowRequest.State.REQUESTED, BorrowRequest.State.APPROVED)
    return borrow_requests_for_user(user=user).filter(state__in=states).order_by("id")


def inventory_for_user(*, user, area: str | None = None) -> list[dict]:
    """Per storage location: how many documents are in place there now and how many belong
    there but are out (on loan, lost)."""
    locations = for_user(StorageLocation.objects.all(), user).select_related("branch")
    if area:
        locations = locations.filter(area=area)
    locations = locations.annotate(
        in_place=Count("documents", filter=Q(documents__location=F("path"))),
        out=Count("documents", filter=~Q(documents__location=F("path"))),
    ).order_by("branch__code", "path")
    return list(locations)


def storage_location_documents(*, user, location_id: int) -> tuple[StorageLocation, list[FileDocument]]:
    location = for_user(StorageLocation.objects.all(), user).filter(id=location_id).first()
    if location is None:
        raise Http404(_("Location not found."))
    docs = list(location.documents.select_related("file__loan", "holder").order_by("file_id", "order"))
    return location, docs


def incidents_for_user(*, user, open_only: bool = True) -> QuerySet[Incident]:
    qs = for_user(Incident.objects.all(), user).select_related("file__loan", "document", "reported_by")
    if open_only:
        qs = qs.filter(resolved_at__isnull=True)
    return qs.order_by("-id")


def alerts_for_user(*, user, mine: bool = True) -> QuerySet[CustodyAlert]:
    """MINE: the user's own alerts; else every alert of the user's branches (the desk)."""
    qs = CustodyAlert.objects.filter(recipient=user) if mine else for_user(CustodyAlert.objects.all(), user)
    return qs.select_related("file__loan", "borrow", "recipient").order_by("-alert_date", "-id")


def destruction_list_for_user(*, user, as_of: date) -> QuerySet[CreditFile]:
    """Closed-archive files whose retention has elapsed (domain-research.md §8.3: destroyed with
    a supervisor present)."""
    return (
        credit_file_list_for_user(user=user)
        .filter(state=CreditFile.State.CLOSED_ARCHIVE, retention_until__lte=as_of)
        .order_by("retention_until", "id")
    )


def pending_handoffs_for_user(*, user) -> QuerySet[CreditFile]:
    return (
        credit_file_list_for_user(user=user)
        .filter(state=CreditFile.State.HANDOFF_PENDING)
        .select_related("handoff_submitted_by")
        .order_by("handoff_submitted_at", "id")
    )
