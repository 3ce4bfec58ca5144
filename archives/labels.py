"""Printable labels: every credit file ("CF-000123") and every document ("CD-000456") carries a QR
code of its label code; a keyboard-wedge scanner types the code followed by Enter into the scan
page, which opens the right action for the file in its current state."""

import re
from dataclasses import dataclass

import segno
from django.urls import reverse

from archives.models import BorrowRequest, CreditFile, FileDocument
from loanops.org.scoping import for_user

FILE_PREFIX = "CF"
DOCUMENT_PREFIX = "CD"
_CODE = re.compile(r"^\s*(CF|CD)[-\s]?0*(\d{1,12})\s*$", re.IGNORECASE)

State = CreditFile.State


def file_label_code(file_id: int) -> str:
    return f"{FILE_PREFIX}-{file_id:06d}"


def document_label_code(document_id: int) -> str:
    return f"{DOCUMENT_PREFIX}-{document_id:06d}"


def parse_label_code(text: str) -> tuple[str, int] | None:
    """("CF" | "CD", id) for a label code as scanners type it (case, dash and zeros optional)."""
    match = _CODE.match(text or "")
    if not match:
        return None
    return match.group(1).upper(), int(match.group(2))


def qr_data_uri(code: str) -> str:
    """A QR code of CODE as an SVG data URI (an <img> source in the page and in the PDF)."""
    return segno.make(code, error="m", micro=False).svg_data_uri(scale=4, border=2)


@dataclass(frozen=True)
class Label:
    code: str
    title: str
    subtitle: str
    qr: str


def labels_for_files(files: list[CreditFile]) -> list[Label]:
    """The file's own label, then one per document present, in checklist order."""
    labels = []
    for file in files:
        loan = file.loan
        labels.append(
            Label(
                code=file_label_code(file.id),
                title=f"{loan.number} · {loan.borrower.name}"[:80],
                subtitle=loan.branch.code,
                qr=qr_data_uri(file_label_code(file.id)),
            )
        )
        for doc in file.documents.all():
            if doc.present:
                code = document_label_code(doc.id)
                labels.append(
                    Label(
                        code=code,
                        title=f"{loan.number} · {doc.name}"[:80],
                        subtitle=f"L{doc.level}",
                        qr=qr_data_uri(code),
                    )
                )
    return labels


@dataclass(frozen=True)
class ScanTarget:
    file: CreditFile
    action: str  # receive | lend | return | consult | view
    url: str


def scan_target(*, code: str, user) -> ScanTarget | None:
    """Where a scanned code leads: a file pending handoff → receive it; a file on loan → the
    return of its request; an archived file with an approved request → lend it; any other
    archived file → log a consultation. None when the code names nothing the user may see."""
    parsed = parse_label_code(code)
    files = for_user(CreditFile.objects.all(), user)
    if parsed is None:
        file = files.filter(loan__number=(code or "").strip()).first() if (code or "").strip() else None
    elif parsed[0] == FILE_PREFIX:
        file = files.filter(id=parsed[1]).first()
    else:
        document = for_user(FileDocument.objects.all(), user).filter(id=parsed[1]).select_related("file").first()
        file = document.file if document else None
    if file is None:
        return None
    detail = reverse("archives:detail", args=[file.id])
    if file.state == State.HANDOFF_PENDING:
        return ScanTarget(file, "receive", f"{detail}?action=receive#receive")
    if file.state == State.ON_LOAN:
        request = file.borrow_requests.filter(state=BorrowRequest.State.ON_LOAN).first()
        if request:
            return ScanTarget(file, "return", reverse("archives:borrow", args=[request.id]) + "#return")
    if file.state == State.ARCHIVED:
        request = file.borrow_requests.filter(state=BorrowRequest.State.APPROVED).order_by("id").first()
        if request:
            return ScanTarget(file, "lend", reverse("archives:borrow", args=[request.id]) + "#lend")
        return ScanTarget(file, "consult", f"{detail}?action=consult#consult")
    return ScanTarget(file, "view", detail)
