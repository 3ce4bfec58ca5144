"""Demo inspections: one (or more) in every state, an overdue pair that flags an officer, an
adverse event, follow-up tasks, a signed PDF filed into the credit file and the quarter's
spot-check sample. Everything goes through the services; a second run changes nothing (the step
stops when its demo inspections exist)."""

import random
from datetime import timedelta

from inspections.models import Inspection, InspectionState, InspectionType, SpotCheckSample
from inspections.services import inspections as svc
from inspections.services.sampling import quarter_of, spot_check_sample_assign, spot_check_sample_draw
from loanops.core.demo import DemoContext, demo_step
from loanops.org.models import Role
from loans.models import Loan

DEMO_REASON = "demo"

REPORT = {
    "funds_use_ok": True, "covenants_ok": True, "insurance_in_force": True, "bureau_checked": True,
    "other_lenders_arrears": False, "employment_status": "unchanged", "collateral_condition": "good",
    "collateral_location": "Garaje del prestatario", "collateral_mileage": 18500, "collateral_registration_ok": True,
    "guarantor_solvent": True, "file_materials_ok": True, "account_flows_ok": True,
    "proposed_classification": "normal",
    "analysis": "El prestatario paga puntualmente; el vehículo está en buen estado y asegurado.",
    "suggestions": "Mantener la frecuencia de inspección ordinaria.",
}  # fmt: skip
STATES = (
    "scheduled", "assigned", "overdue_1", "overdue_2", "in_progress", "submitted", "returned", "reviewed",
    "acknowledged", "completed", "completed_2", "cancelled",
)  # fmt: skip


def _people(context: DemoContext, loan: Loan):
    code = loan.branch.code
    head = context.users_with(Role.CREDIT_HEAD, code)
    manager = context.users_with(Role.BRANCH_MANAGER, code)
    return (head[0] if head else None), (manager[0] if manager else None)


def _new(loan: Loan, *, today, due, officer, state=None) -> Inspection:
    return Inspection.objects.create(
        loan=loan, type=InspectionType.ROUTINE, due_date=due, scheduled_on=today, officer=officer,
        state=state or (InspectionState.ASSIGNED if officer else InspectionState.SCHEDULED), reason=DEMO_REASON,
    )  # fmt: skip


@demo_step(order=40)
def inspections_in_every_state(*, rng: random.Random, context: DemoContext) -> None:
    if Inspection.objects.filter(reason=DEMO_REASON).exists():
        return
    today = context.today
    active = [
        loan
        for loan in Loan.objects.filter(number__in=[x.number for x in context.loans], status=Loan.Status.ACTIVE)
        .select_related("branch", "officer")
        .order_by("number")
        if loan.officer_id and loan.disbursement_date <= today
    ]
    # Loans paying on time: collections and the other steps leave them alone (a loan another step
    # settles would see its demo inspections cancelled by the next night).
    steady = [loan for loan in active if context.profiles.get(loan.number) == "on_time"]
    if len(steady) >= len(STATES):
        active = steady
    # Keep the officer of the overdue pair the same (two overdue inspections → flagged).
    by_officer: dict[int, list[Loan]] = {}
    for loan in active:
        by_officer.setdefault(loan.officer_id, []).append(loan)
    pair = next((loans[:2] for loans in by_officer.values() if len(loans) >= 2), [])
    rest = [loan for loan in active if loan not in pair]
    rng.shuffle(rest)
    plan = dict(zip(["overdue_1", "overdue_2"], pair, strict=False))
    plan.update(zip([s for s in STATES if not s.startswith("overdue") and s != "cancelled"], rest, strict=False))
    made = 0
    for label, loan in plan.items():
        head, manager = _people(context, loan)
        officer = loan.officer
        if officer.role != Role.CREDIT_OFFICER or head is None or manager is None:
            continue
        if label == "scheduled":
            _new(loan, today=today, due=today + timedelta(days=25), officer=None)
        elif label == "assigned":
            _new(loan, today=today, due=today + timedelta(days=12), officer=officer)
        elif label.startswith("overdue"):
            _new(
                loan, today=today - timedelta(days=40), due=today - timedelta(days=rng.randint(3, 20)), officer=officer
            )
        elif label == "in_progress":
            svc.adverse_event_record(
                loan=loan, kind="job_loss", occurred_on=today - timedelta(days=2), acting_user=officer,
                description="El prestatario comunica la pérdida de su empleo.",
            )  # fmt: skip
            event = Inspection.objects.get(loan=loan, type=InspectionType.EVENT, state=InspectionState.ASSIGNED)
            Inspection.objects.filter(id=event.id).update(reason=DEMO_REASON)
            svc.inspection_start(inspection=event, acting_user=officer)
            svc.inspection_report_save(
                inspection=event, data={"employment_status": "lost", "risk_signals": "Pérdida de empleo."},
                acting_user=officer,
            )  # fmt: skip
        else:
            inspection = _new(loan, today=today - timedelta(days=20), due=today + timedelta(days=5), officer=officer)
            svc.inspection_start(inspection=inspection, acting_user=officer)
            svc.inspection_report_save(inspection=inspection, data=REPORT, acting_user=officer)
            svc.inspection_submit(inspection=inspection, acting_user=officer)
            if label == "returned":
                svc.inspection_return(
                    inspection=inspection, acting_user=head,
                    comments="Falta el kilometraje actual y una foto del vehículo.",
                )  # fmt: skip
            elif label in ("reviewed", "acknowledged", "completed", "completed_2"):
                svc.inspection_review(inspection=inspection, acting_user=head, comments="Conforme.")
                if label in ("acknowledged", "completed", "completed_2"):
                    svc.inspection_acknowledge(
                        inspection=inspection, acting_user=manager, complete=label != "acknowledged"
                    )
                if label == "completed":
                    svc.followup_task_add(
                        inspection=inspection, kind="watch_list", description="Seguimiento de pagos tres meses",
                        owner=officer, due_date=today + timedelta(days=30), acting_user=head,
                    )  # fmt: skip
            if label == "completed_2":
                # the next routine one exists now: cancel it, as a manager would when a check is redundant
                follow = Inspection.objects.filter(
                    loan=loan, type=InspectionType.ROUTINE, state=InspectionState.ASSIGNED
                ).first()
                if follow is not None:
                    Inspection.objects.filter(id=follow.id).update(reason=DEMO_REASON)
                    svc.inspection_cancel(
                        inspection=follow, reason="Sustituida por la inspección de muestreo", acting_user=manager
                    )
        made += 1
    if not SpotCheckSample.objects.filter(quarter=quarter_of(today)).exists():
        risk = context.users.get(Role.RISK, [None])[0]
        if risk is not None:
            sample = spot_check_sample_draw(acting_user=risk, seed=context.seed, rate="0.05")
            spot_check_sample_assign(sample=sample, acting_user=risk, independent=True)
    context.counts["inspections"] = Inspection.objects.count()
    context.counts["demo_inspections"] = made
