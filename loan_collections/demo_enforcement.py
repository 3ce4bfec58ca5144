"""Demo data for enforcement and write-off: a step of `loanops.core.demo` that runs after the demo's
nightly history (which opened the cases and their tracks, and let unpaid guarantee calls lapse).

- One case in enforcement (a dealer loan when there is one) gets its tracks moved: legal action
  against the borrower filed and in asset preservation, the insurer claim with documents
  requested; and a write-off waiting for the risk review.
- Another gets a write-off approved and posted a month ago, with a 300.00 recovery since; its
  loan is chosen so that every arrears bucket keeps an active loan.

Idempotent: each thing is looked up before it is done; every change goes through the services.
Imported from `CollectionsConfig.ready()`.
"""

import random
from collections import Counter
from datetime import timedelta
from decimal import Decimal

from loan_collections.models import CollectionCase, EnforcementTrack, Stage, TrackState, WriteOff
from loan_collections.services.enforcement import track_transition
from loan_collections.services.writeoffs import (
    writeoff_decide,
    writeoff_post,
    writeoff_propose,
    writeoff_submit,
)
from loanops.core.demo import LOAN_PREFIX, DemoContext, demo_step
from loanops.org.models import Role
from loans.models import Loan, LoanDelinquency
from loans.services.payments import PaymentRequest, payments_post

RECOVERY = Decimal("300.00")


def _first(users):
    return users[0] if users else None


def _move(track: EnforcementTrack | None, path: list[str], user, **extra) -> None:
    """Move TRACK along PATH from wherever it is on it (nothing when it is elsewhere or at the end)."""
    if track is None or user is None:
        return
    track.refresh_from_db()
    if track.state not in path:
        return
    for state in path[path.index(track.state) + 1 :]:
        track = track_transition(track=track, to_state=state, acting_user=user, **extra)


@demo_step(order=40, after_nightly=True)
def enforcement_and_write_offs(*, rng: random.Random, context: DemoContext) -> None:
    demo_write_offs = WriteOff.objects.filter(loan__number__startswith=LOAN_PREFIX).select_related("case", "loan")
    cases = list(
        CollectionCase.objects.filter(
            status=CollectionCase.Status.OPEN, stage=Stage.ENFORCEMENT, loan__number__startswith=LOAN_PREFIX
        )
        .select_related("loan", "loan__branch")
        .order_by("id")
    )
    reviewed = demo_write_offs.exclude(state__in=[WriteOff.State.POSTED, WriteOff.State.CLOSED]).first()
    tracks_case = reviewed.case if reviewed else _tracks_candidate(cases)
    if tracks_case is not None:
        _tracks_and_review(context, tracks_case)
    posted = demo_write_offs.filter(state__in=[WriteOff.State.POSTED, WriteOff.State.CLOSED]).first()
    posted_case = posted.case if posted else _write_off_candidate([c for c in cases if c != tracks_case])
    if posted_case is not None:
        _posted_with_recovery(context, posted_case)
    context.counts["enforcement_tracks"] = EnforcementTrack.objects.count()
    context.counts["write_offs"] = WriteOff.objects.count()


def _tracks_candidate(cases: list[CollectionCase]) -> CollectionCase | None:
    with_call = set(
        EnforcementTrack.objects.filter(case__in=cases, kind="dealer_guarantee").values_list("case_id", flat=True)
    )
    return next((c for c in cases if c.id in with_call), cases[0] if cases else None)


def _write_off_candidate(cases: list[CollectionCase]) -> CollectionCase | None:
    """A case whose loan shares its arrears bucket with another active loan (the demo keeps an
    active loan in every bucket)."""
    active = LoanDelinquency.objects.filter(loan__status=Loan.Status.ACTIVE, loan__number__startswith=LOAN_PREFIX)
    buckets = Counter(active.values_list("bucket", flat=True))
    by_loan = dict(active.filter(loan_id__in=[c.loan_id for c in cases]).values_list("loan_id", "bucket"))
    return next((c for c in cases if buckets[by_loan.get(c.loan_id)] >= 2), None)


def _people(context: DemoContext, loan: Loan) -> dict:
    code = loan.branch.code
    risk = context.users_with(Role.RISK)
    return {
        "collector": _first(context.users_with(Role.COLLECTOR, code)),
        "manager": _first(context.users_with(Role.BRANCH_MANAGER, code)),
        "head": _first(context.users_with(Role.CREDIT_HEAD, code)),
        "risk": _first(risk),
        "risk2": risk[1] if len(risk) > 1 else None,
        "admin": _first(context.users_with(Role.ADMIN)),
    }


def _tracks_and_review(context: DemoContext, case: CollectionCase) -> None:
    loan = case.loan
    people = _people(context, loan)
    tracks = {(t.kind, t.against): t for t in EnforcementTrack.objects.filter(case=case)}
    _move(
        tracks.get(("legal", "borrower")),
        [TrackState.PREPARING, TrackState.FILED, TrackState.PRESERVATION],
        people["head"],
        reference=f"PO {loan.id}/{context.today.year - 1}",
    )
    _move(
        tracks.get(("insurer_claim", "insurer")),
        [TrackState.FILED, TrackState.DOCUMENTS_REQUESTED],
        people["manager"],
        reference=f"SIN-{loan.number[-4:]}",
    )
    if WriteOff.objects.filter(loan=loan).exists() or None in (people["collector"], people["head"]):
        return
    write_off = writeoff_propose(
        case=case, ground=WriteOff.Ground.NO_ASSETS, on=context.today - timedelta(days=5),
        acting_user=people["collector"],
        evidence="Informe de localización de bienes negativo; vehículo no localizado; 4 visitas sin resultado.",
    )  # fmt: skip
    writeoff_submit(write_off=write_off, acting_user=people["collector"])
    writeoff_decide(write_off=write_off, decision="approve", acting_user=people["head"], comment="Expediente completo.")


def _posted_with_recovery(context: DemoContext, case: CollectionCase) -> None:
    loan = case.loan
    people = _people(context, loan)
    if None in people.values():
        return
    write_off = WriteOff.objects.filter(loan=loan).order_by("-id").first()
    if write_off is None:
        write_off = writeoff_propose(
            case=case, ground=WriteOff.Ground.ENFORCEMENT_TERMINATED, on=context.today - timedelta(days=60),
            acting_user=people["collector"],
            evidence="Auto de terminación de la ejecución; vehículo subastado sin postor; deudor insolvente.",
        )  # fmt: skip
    if write_off.state == WriteOff.State.DRAFT:
        write_off = writeoff_submit(write_off=write_off, acting_user=people["collector"])
    if write_off.state == WriteOff.State.BRANCH_REVIEW:
        write_off = writeoff_decide(write_off=write_off, decision="approve", acting_user=people["head"])
    if write_off.state == WriteOff.State.RISK_REVIEW:
        write_off = writeoff_decide(write_off=write_off, decision="approve", acting_user=people["risk"])
    if write_off.state == WriteOff.State.APPROVAL:
        approver = {
            WriteOff.Band.BRANCH: people["manager"], WriteOff.Band.HEAD_OFFICE: people["risk2"],
            WriteOff.Band.BOARD: people["admin"],
        }[write_off.band]  # fmt: skip
        write_off = writeoff_decide(write_off=write_off, decision="approve", acting_user=approver)
    if write_off.state == WriteOff.State.APPROVED:
        write_off = writeoff_post(
            write_off=write_off, acting_user=people["head"], on=context.today - timedelta(days=30)
        )
    if write_off.state == WriteOff.State.POSTED:
        request = PaymentRequest(
            external_id=f"DEMO-REC-{loan.number}-1", loan_number=loan.number, amount=RECOVERY,
            value_date=context.today - timedelta(days=10), payer="borrower",
        )  # fmt: skip
        payments_post(requests=[request], acting_user=context.acting_user)
