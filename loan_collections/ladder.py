"""The escalation ladder (domain.md "Collections"): pure functions, no ORM.

The nightly SQL (`services/cases.py`) computes the same thing; the tests check one against the other.
"""

from loan_collections.models import CaseAction, Stage

FINAL_DEMAND_DPD = 60
SECOND_STEP_DPD = 30
FIRST_LETTER_DPD = 15
PHONE_DPD = 1
CURE_MONITOR_DAYS = 30  # a case in cure monitoring closes once its cure is this many days old


def required_stage(*, days_past_due: int, rule_3_6: bool, has_dealer: bool) -> Stage | None:
    """The stage the stored arrears outputs call for; None when nothing is required."""
    if rule_3_6:
        return Stage.ENFORCEMENT
    if days_past_due >= FINAL_DEMAND_DPD:
        return Stage.FINAL_DEMAND
    if days_past_due >= SECOND_STEP_DPD:
        return Stage.DEALER_ADVANCE_REQUEST if has_dealer else Stage.SECOND_LETTER
    if days_past_due >= FIRST_LETTER_DPD:
        return Stage.FIRST_LETTER
    if days_past_due >= PHONE_DPD:
        return Stage.PHONE_REMINDER
    return None


def ladder(*, has_dealer: bool) -> tuple[Stage, ...]:
    """The rungs, lowest first (rank = position + 1)."""
    third = Stage.DEALER_ADVANCE_REQUEST if has_dealer else Stage.SECOND_LETTER
    return (Stage.PHONE_REMINDER, Stage.FIRST_LETTER, third, Stage.FINAL_DEMAND, Stage.ENFORCEMENT)


def skipped_stages(*, from_stage: str | None, to_stage: str, has_dealer: bool) -> list[str]:
    """Rungs passed over when a case jumps up several thresholds at once (empty going down)."""
    rungs = [str(s) for s in ladder(has_dealer=has_dealer)]
    if to_stage not in rungs:
        return []
    low = rungs.index(from_stage) + 1 if from_stage in rungs else 0
    return rungs[low : rungs.index(to_stage)]


# What entering a stage creates: (kind, track). Enforcement opens one track each; the dealer
# guarantee only for a dealer loan, the insurer claim only for an insured loan.
STAGE_ACTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    Stage.PHONE_REMINDER: ((CaseAction.Kind.CALL_TASK, ""),),
    Stage.FIRST_LETTER: ((CaseAction.Kind.LETTER_REQUEST, ""),),
    Stage.SECOND_LETTER: ((CaseAction.Kind.LETTER_REQUEST, ""),),
    Stage.DEALER_ADVANCE_REQUEST: ((CaseAction.Kind.DEALER_ADVANCE_NOTICE, ""),),
    Stage.FINAL_DEMAND: ((CaseAction.Kind.LETTER_REQUEST, ""),),
    Stage.ENFORCEMENT: (
        (CaseAction.Kind.ENFORCEMENT_TRACK, CaseAction.Track.LEGAL),
        (CaseAction.Kind.ENFORCEMENT_TRACK, CaseAction.Track.DEALER_GUARANTEE),
        (CaseAction.Kind.ENFORCEMENT_TRACK, CaseAction.Track.INSURER_CLAIM),
    ),
    Stage.CURE_MONITORING: (),
}
