"""Collection letters: the outbox, numbering, rendering, print batches and delivery evidence.

Life of a letter
----------------
1. **Outbox.** `letters_outbox_create_due(as_of=D)` runs inside `cases_update_due`'s transaction:
   one `INSERT … SELECT` writes a pending row for every letter of every case that entered its stage
   on D, `ON CONFLICT DO NOTHING` against the unique (case, stage, type) key of ladder letters, so a
   letter is never generated twice for the same case and stage (reruns, two beats, a case stepping
   down and up again). A collector's ad-hoc letter (`letter_request`) is a separate row.
2. **Issue.** A worker claims pending letters without a number (`FOR UPDATE SKIP LOCKED`), gives
   them gapless numbers per branch and year (`LetterSequence` row locked by `UPDATE … RETURNING`),
   and freezes their content (`snapshot`: every field of domain.md / §6.3 plus the wording), in one
   short transaction. A number is only ever committed together with its letter.
3. **Render.** A worker claims numbered pending letters (`FOR UPDATE SKIP LOCKED`), renders the
   frozen snapshot to PDF (WeasyPrint), stores it under a name derived from the number and marks it
   rendered, all in the same transaction. A worker killed mid-chunk leaves its rows pending (the
   transaction is rolled back when its connection drops); the next claim renders them. A file left
   behind by a rolled-back transaction is overwritten (same name), so every letter has exactly one PDF.
   A failing letter is retried (`attempts`) and after `MAX_RENDER_ATTEMPTS` marked failed, shown on
   the letters page and retried from there — never lost.
4. **Sweep.** Beat runs `letters_sweep` every minute: if anything is pending it enqueues the render
   tasks again, so an enqueue lost with Redis or a killed worker delays letters, never loses them.
"""

import hashlib
import logging
import time
from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Max, Q
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from loan_collections.letters import (
    MAX_RENDER_ATTEMPTS,
    RECIPIENT,
    WORDING_FIELDS,
    deadline_for,
    default_wording,
    fill,
    ladder_rows,
    letter_language,
    letter_number,
    limitation_expiry,
    mask_id,
)
from loan_collections.models import (
    CollectionCase,
    DeliveryEvidence,
    Letter,
    LetterRecipient,
    LetterTemplate,
    LetterType,
    PrintBatch,
)
from loan_collections.services.assignment import COLLECTOR_ROLES, REASSIGN_ROLES
from loanops.core.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from loanops.core.time import business_date
from loanops.org.scoping import can_see_branch
from loans.models import Installment

logger = logging.getLogger(__name__)

RENDER_CHUNK = 20
SNAPSHOT_VERSION = 1
SUPERVISOR_ROLES = REASSIGN_ROLES  # the collectors' supervisors
FIELD_ROLES = COLLECTOR_ROLES
# A documented demand: the recipient received it (or refused it in front of the carrier).
DEMAND_DELIVERED = frozenset(
    {DeliveryEvidence.Acknowledgement.SIGNED, DeliveryEvidence.Acknowledgement.DELIVERED,
     DeliveryEvidence.Acknowledgement.REFUSED}
)  # fmt: skip
PDF_TEMPLATE = "collections/letters/pdf/letter.html"
PDF_STYLESHEET = "collections/letters/pdf/letter.css"


# --- permissions -----------------------------------------------------------------------------


def can_request_letter(user, case: CollectionCase) -> bool:
    """The case's collector and supervisors of its branch send ad-hoc letters."""
    if not user.is_authenticated or user.is_read_only or not can_see_branch(user, case.loan.branch):
        return False
    return user.is_superuser or user.role in SUPERVISOR_ROLES or case.collector_id == user.id


def can_record_delivery(user, letter: Letter) -> bool:
    if not user.is_authenticated or user.is_read_only or not can_see_branch(user, letter.branch):
        return False
    return user.is_superuser or user.role in SUPERVISOR_ROLES | FIELD_ROLES


def can_print(user) -> bool:
    return (
        user.is_authenticated
        and not user.is_read_only
        and (user.is_superuser or user.role in SUPERVISOR_ROLES | FIELD_ROLES)
    )


# --- 1. outbox ---------------------------------------------------------------------------------

_OUTBOX_SQL = """
    INSERT INTO collections_letter
        (case_id, branch_id, stage, letter_type, recipient, origin, state, requested_on, note, language,
         snapshot, pdf, pdf_sha256, attempts, last_error, created_at, updated_at)
    SELECT c.id, l.branch_id, c.stage, m.letter_type, m.recipient, 'ladder', 'pending', %(d)s, '', '',
           '{}'::jsonb, '', '', 0, '', now(), now()
    FROM collections_collectioncase c
    JOIN loans_loan l ON l.id = c.loan_id
    JOIN unnest(%(m_stage)s::varchar[], %(m_type)s::varchar[], %(m_recipient)s::varchar[])
         AS m(stage, letter_type, recipient) ON m.stage = c.stage
    WHERE c.status = 'open' AND c.stage_since = %(d)s
      AND (m.recipient <> 'dealer' OR l.dealer_id IS NOT NULL)
      AND (m.recipient <> 'insurer' OR l.insurer_id IS NOT NULL)
    ORDER BY c.id, m.letter_type
    ON CONFLICT (case_id, stage, letter_type) WHERE origin = 'ladder' DO NOTHING
"""


def letters_outbox_create_due(*, as_of: date) -> int:
    """Write the pending letters of every case that entered its stage on AS_OF (set-based,
    idempotent). Called inside the nightly cases transaction; rendering is enqueued after commit."""
    rows = ladder_rows()
    params = {
        "d": as_of,
        "m_stage": [row[0] for row in rows],
        "m_type": [row[1] for row in rows],
        "m_recipient": [row[2] for row in rows],
    }
    with connection.cursor() as cursor:
        cursor.execute(_OUTBOX_SQL, params)
        created = cursor.rowcount
    if created:
        transaction.on_commit(enqueue_render, robust=True)
    return created


def enqueue_render(copies: int = 1) -> None:
    """Ask the pdf workers to render (after commit; a lost message is re-sent by the sweeper)."""
    from loan_collections.tasks import render_letters

    for _copy in range(copies):
        render_letters.apply_async(retry=False)


@transaction.atomic
def letter_request(*, case: CollectionCase, letter_type: str, note: str = "", acting_user, today: date | None = None):
    """An ad-hoc letter requested by the case's collector or a supervisor."""
    today = today or business_date()
    if not can_request_letter(acting_user, case):
        raise PermissionDenied(_("Only the case's collector or a supervisor sends letters on this case."))
    case = CollectionCase.objects.select_for_update(of=("self",)).select_related("loan").get(id=case.id)
    errors = {}
    if case.status != CollectionCase.Status.OPEN:
        errors["case"] = [_("Letters are sent on open cases only.")]
    if letter_type not in LetterType.values:
        errors["letter_type"] = [_("Choose a letter type from the list.")]
    else:
        recipient = RECIPIENT[letter_type]
        if recipient == LetterRecipient.DEALER and case.loan.dealer_id is None:
            errors["letter_type"] = [_("This loan has no dealer.")]
        if recipient == LetterRecipient.INSURER and case.loan.insurer_id is None:
            errors["letter_type"] = [_("This loan is not insured.")]
    if len(note) > 500:
        errors["note"] = [_("Keep the note under 500 characters.")]
    if errors:
        raise ValidationFailed(_("The letter was not requested."), extra=errors)
    letter = Letter.objects.create(
        case=case, branch_id=case.loan.branch_id, stage=case.stage, letter_type=letter_type,
        recipient=RECIPIENT[letter_type], origin=Letter.Origin.AD_HOC, requested_on=today,
        requested_by=acting_user, note=note,
    )  # fmt: skip
    transaction.on_commit(enqueue_render, robust=True)
    return letter


@transaction.atomic
def letter_retry(*, letter: Letter, acting_user) -> Letter:
    """Put a failed letter back in the outbox (its number and frozen content are kept)."""
    if not can_record_delivery(acting_user, letter):
        raise PermissionDenied(_("You cannot retry this letter."))
    changed = Letter.objects.filter(id=letter.id, state=Letter.State.FAILED).update(
        state=Letter.State.PENDING, attempts=0, updated_at=timezone.now()
    )
    if changed != 1:
        raise InvalidTransition(_("Only a failed letter can be retried."))
    transaction.on_commit(enqueue_render, robust=True)
    letter.refresh_from_db()
    return letter


# --- 2. issue: number and freeze ----------------------------------------------------------------


def _money(value) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def _wording(letter_types_languages: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    found = {
        (row.letter_type, row.language): {field: getattr(row, field) for field in WORDING_FIELDS}
        for row in LetterTemplate.objects.filter(
            letter_type__in={t for t, _l in letter_types_languages},
            language__in={lang for _t, lang in letter_types_languages},
        )
    }
    return {key: found.get(key) or default_wording(*key) for key in letter_types_languages}


def _amount_due(letter_type: str, state) -> Decimal:
    if letter_type == LetterType.GUARANTEE_CALL:  # buy-back price: unpaid principal + interest
        return state.outstanding_principal + state.overdue_interest
    if letter_type in (LetterType.ACCELERATION_NOTICE, LetterType.INSURER_CLAIM_NOTICE):
        return state.outstanding_principal + state.overdue_interest + state.overdue_fees
    return state.overdue_amount


def _overdue_lines(loan_ids: list[int], as_of_by_loan: dict[int, date]) -> dict[int, list[dict]]:
    """Unpaid installments due before each loan's as-of date (one query for the chunk)."""
    lines: dict[int, list[dict]] = defaultdict(list)
    rows = (
        Installment.objects.filter(loan_id__in=loan_ids)
        .order_by("loan_id", "number")
        .values_list("loan_id", "number", "due_date", "principal", "interest", "fees",
                     "paid_principal", "paid_interest", "paid_fees")
    )  # fmt: skip
    for loan_id, number, due, p, i, f, pp, pi, pf in rows:
        as_of = as_of_by_loan.get(loan_id)
        if as_of is None or due >= as_of:
            continue
        unpaid = (p - pp) + (i - pi) + (f - pf)
        if unpaid > 0:
            lines[loan_id].append({"number": number, "due_date": due.isoformat(), "unpaid": _money(unpaid)})
    return lines


def _format_money(value: str, currency: str) -> str:
    return f"{formats.number_format(Decimal(value), 2, force_grouping=True)} {currency}"


def build_snapshot(letter: Letter, *, number: str, issued_on: date, wording: dict, lines: list[dict]) -> dict:
    """Every field the letter prints, frozen at issue (domain.md "Letters", domain-research §6.3)."""
    case = letter.case
    loan = case.loan
    state = getattr(loan, "delinquency", None)
    language = letter_language(loan.borrower.language)
    deadline = deadline_for(letter_type=letter.letter_type, issued_on=issued_on)
    zero = Decimal("0.00")
    amounts = {
        "overdue_principal": _money(state.overdue_principal if state else zero),
        "overdue_interest": _money(state.overdue_interest if state else zero),
        "overdue_fees": _money(state.overdue_fees if state else zero),
        "overdue_total": _money(state.overdue_amount if state else zero),
        "outstanding_principal": _money(state.outstanding_principal if state else loan.principal),
        "amount_due": _money(_amount_due(letter.letter_type, state) if state else zero),
    }
    officer = case.collector or loan.officer
    recipient = {"kind": letter.recipient, "name": loan.borrower.name, "address": loan.borrower.address}
    if letter.recipient == LetterRecipient.DEALER and loan.dealer:
        recipient = {"kind": letter.recipient, "name": loan.dealer.name, "address": ""}
    elif letter.recipient == LetterRecipient.INSURER and loan.insurer:
        recipient = {"kind": letter.recipient, "name": loan.insurer.name, "address": ""}
    with translation.override(language):
        values = {
            "borrower": loan.borrower.name,
            "contract": loan.number,
            "total_due": _format_money(amounts["amount_due"], loan.currency),
            "deadline": deadline.isoformat(),
            "days_past_due": str(state.days_past_due if state else 0),
            "branch": letter.branch.name,
            "dealer": loan.dealer.name if loan.dealer else "",
            "insurer": loan.insurer.name if loan.insurer else "",
            "policy": loan.insurance_policy.number if loan.insurance_policy else "",
        }
    return {
        "version": SNAPSHOT_VERSION,
        "letter_type": letter.letter_type,
        "number": number,
        "issued_on": issued_on.isoformat(),
        "deadline_on": deadline.isoformat(),
        "language": language,
        "stage": letter.stage,
        "origin": letter.origin,
        "note": letter.note,
        "recipient": recipient,
        "branch": {"code": letter.branch.code, "name": letter.branch.name},
        "borrower": {
            "name": loan.borrower.name,
            "masked_id": mask_id(loan.borrower.national_id),
            "address": loan.borrower.address,
        },
        "guarantors": [{"name": g.name, "masked_id": mask_id(g.national_id)} for g in loan.guarantors.all()],
        "contract": {
            "number": loan.number,
            "product": loan.product.name,
            "currency": loan.currency,
            "disbursement_date": loan.disbursement_date.isoformat(),
            "principal": _money(loan.principal),
        },
        "collateral": [{"kind": c.kind, "description": c.description} for c in loan.collateral.all()],
        "dealer": {"name": loan.dealer.name} if loan.dealer else None,
        "insurer": (
            {"name": loan.insurer.name, "policy": loan.insurance_policy.number if loan.insurance_policy else ""}
            if loan.insurer
            else None
        ),
        "as_of": state.as_of.isoformat() if state else issued_on.isoformat(),
        "days_past_due": state.days_past_due if state else 0,
        "overdue_installments": state.overdue_installments if state else 0,
        "overdue_lines": lines,
        "amounts": amounts,
        "officer": {
            "name": (officer.get_full_name() or officer.username) if officer else "",
            "phone": officer.phone if officer else "",
            "email": officer.email if officer else "",
        },
        "wording": {key: fill(text, values) for key, text in wording.items()},
    }


def _allocate_numbers(counts: dict[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """Reserve COUNT numbers per (branch, year); returns the first of each block. The sequence
    rows stay locked until the caller's transaction ends (in key order: no deadlocks)."""
    first = {}
    with connection.cursor() as cursor:
        for (branch_id, year), count in sorted(counts.items()):
            cursor.execute(
                """INSERT INTO collections_lettersequence (branch_id, year, last) VALUES (%s, %s, %s)
                   ON CONFLICT (branch_id, year) DO UPDATE SET last = collections_lettersequence.last + EXCLUDED.last
                   RETURNING last""",
                [branch_id, year, count],
            )
            first[(branch_id, year)] = cursor.fetchone()[0] - count + 1
    return first


def _letters_for_issue(ids: list[int]) -> list[Letter]:
    return list(
        Letter.objects.filter(id__in=ids)
        .select_related(
            "branch",
            "case__collector",
            "case__loan__borrower",
            "case__loan__product",
            "case__loan__dealer",
            "case__loan__insurer",
            "case__loan__insurance_policy",
            "case__loan__officer",
            "case__loan__delinquency",
        )
        .prefetch_related("case__loan__guarantors", "case__loan__collateral")
        .order_by("id")
    )


def letters_issue_due(*, today: date | None = None, batch_size: int = RENDER_CHUNK) -> int:
    """Number and freeze up to BATCH_SIZE pending letters (one short transaction); returns how many."""
    today = today or business_date()
    with transaction.atomic():
        ids = list(
            Letter.objects.filter(state=Letter.State.PENDING, number__isnull=True)
            .order_by("id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return 0
        letters = _letters_for_issue(ids)
        counts: dict[tuple[int, int], int] = defaultdict(int)
        for letter in letters:
            counts[(letter.branch_id, today.year)] += 1
        next_number = _allocate_numbers(counts)
        wording = _wording(
            {(letter.letter_type, letter_language(letter.case.loan.borrower.language)) for letter in letters}
        )
        lines = _overdue_lines(
            [letter.case.loan_id for letter in letters],
            {
                letter.case.loan_id: letter.case.loan.delinquency.as_of
                for letter in letters
                if getattr(letter.case.loan, "delinquency", None)
            },
        )
        for letter in letters:
            key = (letter.branch_id, today.year)
            number = letter_number(branch_code=letter.branch.code, year=today.year, sequence=next_number[key])
            next_number[key] += 1
            language = letter_language(letter.case.loan.borrower.language)
            letter.snapshot = build_snapshot(
                letter, number=number, issued_on=today, wording=wording[(letter.letter_type, language)],
                lines=lines.get(letter.case.loan_id, []),
            )  # fmt: skip
            letter.number = number
            letter.issued_on = today
            letter.deadline_on = date.fromisoformat(letter.snapshot["deadline_on"])
            letter.language = language
            letter.updated_at = timezone.now()
        Letter.objects.bulk_update(
            letters, ["number", "issued_on", "deadline_on", "language", "snapshot", "updated_at"]
        )
        return len(letters)


# --- 3. render -----------------------------------------------------------------------------------

_weasy: dict = {}


def _weasy_parts():
    """One font configuration and one parsed stylesheet per process (the main saving over a
    plain `HTML(string=…).write_pdf()`, which rebuilds both for every letter)."""
    if not _weasy:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        font_config = FontConfiguration()
        css = render_to_string(PDF_STYLESHEET)
        _weasy["font_config"] = font_config
        _weasy["stylesheets"] = [CSS(string=css, font_config=font_config)]
        _weasy["css"] = css
    return _weasy


def letter_stylesheet_text() -> str:
    return _weasy_parts()["css"]


def _display(snapshot: dict) -> dict:
    """The snapshot with labels and money formatted for the letter's language (call under override)."""
    currency = snapshot["contract"]["currency"]
    amounts = {key: _format_money(value, currency) for key, value in snapshot["amounts"].items()}
    lines = [{**line, "unpaid": _format_money(line["unpaid"], currency)} for line in snapshot["overdue_lines"]]
    return {
        "s": snapshot,
        "type_label": LetterType(snapshot["letter_type"]).label,
        "amounts": amounts,
        "lines": lines,
        "wording": snapshot["wording"],
        "to_borrower": snapshot["recipient"]["kind"] == LetterRecipient.BORROWER,
    }


def letter_html(snapshot: dict) -> str:
    """The letter as HTML, in its language, from its frozen snapshot alone."""
    with translation.override(snapshot["language"]):
        return render_to_string(PDF_TEMPLATE, _display(snapshot))


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    parts = _weasy_parts()
    return HTML(string=html).write_pdf(stylesheets=parts["stylesheets"], font_config=parts["font_config"])


def htmls_to_one_pdf(htmls: list[str]) -> bytes:
    from weasyprint import HTML

    parts = _weasy_parts()
    documents = [
        HTML(string=html).render(stylesheets=parts["stylesheets"], font_config=parts["font_config"]) for html in htmls
    ]
    pages = [page for document in documents for page in document.pages]
    return documents[0].copy(pages).write_pdf()


def letter_pdf_name(letter: Letter) -> str:
    return f"letters/{letter.snapshot['branch']['code']}/{letter.issued_on.year}/{letter.number}.pdf"


def _store(field_file, name: str, content: bytes) -> str:
    """Save under exactly NAME, replacing a file a rolled-back attempt may have left."""
    storage = field_file.storage
    if storage.exists(name):
        storage.delete(name)
    return storage.save(name, ContentFile(content))


def letters_render_due(*, today: date | None = None, batch_size: int = RENDER_CHUNK) -> int:
    """Issue then render up to BATCH_SIZE letters; returns how many letters this call handled
    (rendered or failed an attempt), 0 when the outbox is empty for this worker."""
    issued = letters_issue_due(today=today, batch_size=batch_size)
    handled = 0
    with transaction.atomic():
        letters = list(
            Letter.objects.filter(state=Letter.State.PENDING, number__isnull=False)
            .order_by("id")
            .select_for_update(skip_locked=True)
            .only("id", "number", "issued_on", "snapshot", "attempts", "pdf")[:batch_size]
        )
        for letter in letters:
            handled += 1
            try:
                with transaction.atomic():
                    content = html_to_pdf(letter_html(letter.snapshot))
                    name = _store(letter.pdf, letter_pdf_name(letter), content)
                    Letter.objects.filter(id=letter.id).update(
                        state=Letter.State.RENDERED, pdf=name, pdf_sha256=hashlib.sha256(content).hexdigest(),
                        rendered_at=timezone.now(), last_error="", updated_at=timezone.now(),
                    )  # fmt: skip
            except Exception as exc:  # a poison letter must not stop the chunk
                attempts = letter.attempts + 1
                logger.exception("letter %s: rendering failed (attempt %d)", letter.id, attempts)
                Letter.objects.filter(id=letter.id).update(
                    attempts=attempts, last_error=f"{type(exc).__name__}: {exc}"[:500], updated_at=timezone.now(),
                    state=Letter.State.FAILED if attempts >= MAX_RENDER_ATTEMPTS else Letter.State.PENDING,
                )  # fmt: skip
    return max(handled, issued)


def letters_render_all(*, today: date | None = None, batch_size: int = RENDER_CHUNK, budget_seconds: float = 60.0):
    """Render chunk after chunk until the outbox is empty or the time budget is spent; returns
    (letters handled, whether work may remain)."""
    started = time.monotonic()
    total = 0
    while True:
        handled = letters_render_due(today=today, batch_size=batch_size)
        total += handled
        if handled == 0:
            return total, False
        if time.monotonic() - started > budget_seconds:
            return total, True


# --- 4. sweep ----------------------------------------------------------------------------------


def letters_sweep() -> dict[str, int]:
    """Re-enqueue rendering while letters or print batches are pending (beat, every minute)."""
    from loan_collections.tasks import render_print_batch

    pending = Letter.objects.filter(state=Letter.State.PENDING).count()
    if pending:
        enqueue_render(copies=min(2, 1 + pending // RENDER_CHUNK))
    batches = list(PrintBatch.objects.filter(state=PrintBatch.State.PENDING).values_list("id", flat=True)[:50])
    for batch_id in batches:
        render_print_batch.apply_async(args=[batch_id], retry=False)
    return {"letters": pending, "batches": len(batches)}


# --- print batches -----------------------------------------------------------------------------


@transaction.atomic
def print_batch_create(*, branch, on_date: date, acting_user=None) -> PrintBatch | None:
    """Gather the branch's rendered letters issued on ON_DATE that are in no batch yet into a new
    batch (rendered by a pdf worker after commit); None when there is nothing to print."""
    if acting_user is not None:
        if not can_print(acting_user):
            raise PermissionDenied(_("You cannot prepare print batches."))
        if not can_see_branch(acting_user, branch):
            raise PermissionDenied(_("This branch is outside your scope."))
    ids = list(
        Letter.objects.filter(branch=branch, issued_on=on_date, state=Letter.State.RENDERED, print_batch__isnull=True)
        .order_by("id")
        .select_for_update()
        .values_list("id", flat=True)
    )
    if not ids:
        return None
    last = PrintBatch.objects.filter(branch=branch, on_date=on_date).aggregate(m=Max("sequence"))["m"] or 0
    batch = PrintBatch.objects.create(
        branch=branch, on_date=on_date, sequence=last + 1, letter_count=len(ids), created_by=acting_user
    )
    Letter.objects.filter(id__in=ids).update(print_batch=batch, updated_at=timezone.now())
    from loan_collections.tasks import render_print_batch

    transaction.on_commit(lambda: render_print_batch.apply_async(args=[batch.id], retry=False), robust=True)
    return batch


def print_batches_create_due(*, on_date: date) -> int:
    """One batch per branch with unbatched letters issued on ON_DATE (beat, daily); idempotent."""
    from loanops.org.models import Branch

    branch_ids = (
        Letter.objects.filter(issued_on=on_date, state=Letter.State.RENDERED, print_batch__isnull=True)
        .values_list("branch_id", flat=True)
        .distinct()
    )
    created = 0
    for branch in Branch.objects.filter(id__in=list(branch_ids)).order_by("id"):
        created += print_batch_create(branch=branch, on_date=on_date) is not None
    return created


def print_batch_render(*, batch_id: int) -> bool:
    """Render one pending batch into a single PDF (claimed with SKIP LOCKED); False if not pending."""
    with transaction.atomic():
        batch = (
            PrintBatch.objects.filter(id=batch_id, state=PrintBatch.State.PENDING)
            .select_for_update(skip_locked=True)
            .select_related("branch")
            .first()
        )
        if batch is None:
            return False
        snapshots = list(batch.letters.order_by("number").values_list("snapshot", flat=True))
        content = htmls_to_one_pdf([letter_html(snapshot) for snapshot in snapshots])
        name = _store(
            batch.pdf, f"letters/batches/{batch.branch.code}/{batch.on_date.isoformat()}-{batch.sequence}.pdf", content
        )
        PrintBatch.objects.filter(id=batch.id).update(
            state=PrintBatch.State.RENDERED, pdf=name, rendered_at=timezone.now(), updated_at=timezone.now()
        )
        return True


# --- delivery evidence -------------------------------------------------------------------------


@transaction.atomic
def letter_delivery_record(
    *, letter: Letter, channel: str, delivered_on: date, recipient_name: str, acknowledgement: str,
    tracking_number: str = "", note: str = "", acting_user, today: date | None = None,
) -> DeliveryEvidence:  # fmt: skip
    """Store how a letter reached its recipient; a documented demand restarts the limitation period."""
    today = today or business_date()
    if not can_record_delivery(acting_user, letter):
        raise PermissionDenied(_("You cannot record delivery of this letter."))
    letter = Letter.objects.select_for_update().get(id=letter.id)
    errors: dict[str, list[str]] = {}
    if letter.state != Letter.State.RENDERED:
        errors["letter"] = [_("Only a rendered letter can be delivered.")]
    if channel not in DeliveryEvidence.Channel.values:
        errors["channel"] = [_("Choose a channel from the list.")]
    if acknowledgement not in DeliveryEvidence.Acknowledgement.values:
        errors["acknowledgement"] = [_("Choose an acknowledgement from the list.")]
    if delivered_on > today:
        errors["delivered_on"] = [_("The date cannot be in the future.")]
    elif letter.issued_on and delivered_on < letter.issued_on:
        errors["delivered_on"] = [_("The date cannot be before the letter was issued.")]
    if not recipient_name.strip():
        errors["recipient_name"] = [_("Say who received the letter.")]
    if errors:
        raise ValidationFailed(_("The delivery was not recorded."), extra=errors)
    evidence = DeliveryEvidence.objects.create(
        letter=letter, channel=channel, delivered_on=delivered_on, recipient_name=recipient_name.strip(),
        tracking_number=tracking_number.strip(), acknowledgement=acknowledgement, note=note.strip(),
        recorded_by=acting_user,
    )  # fmt: skip
    if acknowledgement in DEMAND_DELIVERED:
        expiry = limitation_expiry(delivered_on)
        Letter.objects.filter(id=letter.id).filter(
            Q(limitation_expiry__isnull=True) | Q(limitation_expiry__lt=expiry)
        ).update(limitation_expiry=expiry, updated_at=timezone.now())
    return evidence
