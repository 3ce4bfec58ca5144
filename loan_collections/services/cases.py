"""The nightly collections step: open, move and close cases from the stored arrears state.

`cases_update_due(as_of=D)` reads the `loans_loandelinquency` rows the sweep stored for D and
changes the whole portfolio in a few set-based statements (never one query per loan):

1. cases of loans closed or written off are closed;
2. open cases below enforcement follow the required stage both ways; days past due back to 0
   moves them to cure monitoring (this wins over the ladder, since a case is about arrears);
   a case in cure monitoring that is overdue again goes back to the required stage;
   enforcement is sticky (only `case_release_from_enforcement` leaves it);
3. cure monitoring closes after `CURE_MONITOR_DAYS` clean days;
4. a case opens for every active loan with days_past_due >= 1 and no open case, directly at
   the required stage (only the highest stage crossed is entered; the others are logged as
   skipped on the history row);
5. every case that entered its stage on D gets that stage's actions.

Every write is guarded (state compared, unique keys with ON CONFLICT DO NOTHING), so a second
run for the same date changes nothing. A date other than the one last swept finds no rows.
"""

import logging
from datetime import date

from django.db import connection, transaction

from loan_collections.ladder import (
    CURE_MONITOR_DAYS,
    FINAL_DEMAND_DPD,
    FIRST_LETTER_DPD,
    PHONE_DPD,
    SECOND_STEP_DPD,
    STAGE_ACTIONS,
)
from loan_collections.models import CaseStageChange, Stage
from loan_collections.services.letters import letters_outbox_create_due
from loan_collections.services.promises import ACTIVE_PROMISE_EXISTS_SQL, promises_resolve_due
from loan_collections.services.tracks import enforcement_open_due

logger = logging.getLogger(__name__)

CASES_JOB = "collections.cases"


def required_stage_sql(*, dpd: str, rule_3_6: str, has_dealer: str) -> str:
    """The SQL twin of `ladder.required_stage` over the given column expressions."""
    return f"""(CASE
        WHEN {rule_3_6} THEN '{Stage.ENFORCEMENT}'
        WHEN {dpd} >= {FINAL_DEMAND_DPD} THEN '{Stage.FINAL_DEMAND}'
        WHEN {dpd} >= {SECOND_STEP_DPD} THEN
            CASE WHEN {has_dealer} THEN '{Stage.DEALER_ADVANCE_REQUEST}' ELSE '{Stage.SECOND_LETTER}' END
        WHEN {dpd} >= {FIRST_LETTER_DPD} THEN '{Stage.FIRST_LETTER}'
        WHEN {dpd} >= {PHONE_DPD} THEN '{Stage.PHONE_REMINDER}'
    END)"""


def _rank_sql(stage: str) -> str:
    return f"""(CASE {stage}
        WHEN '{Stage.PHONE_REMINDER}' THEN 1 WHEN '{Stage.FIRST_LETTER}' THEN 2
        WHEN '{Stage.SECOND_LETTER}' THEN 3 WHEN '{Stage.DEALER_ADVANCE_REQUEST}' THEN 3
        WHEN '{Stage.FINAL_DEMAND}' THEN 4 WHEN '{Stage.ENFORCEMENT}' THEN 5 ELSE 0 END)"""


def _skipped_sql(*, low_rank: str, high_rank: str, has_dealer: str) -> str:
    """The rungs strictly between two ranks, lowest first (the twin of `ladder.skipped_stages`)."""
    return f"""ARRAY(
        SELECT u.s FROM unnest(ARRAY[
            '{Stage.PHONE_REMINDER}', '{Stage.FIRST_LETTER}',
            CASE WHEN {has_dealer} THEN '{Stage.DEALER_ADVANCE_REQUEST}' ELSE '{Stage.SECOND_LETTER}' END,
            '{Stage.FINAL_DEMAND}', '{Stage.ENFORCEMENT}'
        ]::varchar[]) WITH ORDINALITY AS u(s, r)
        WHERE u.r > {low_rank} AND u.r < {high_rank} ORDER BY u.r
    )"""


_CLOSE_FINISHED_LOANS_SQL = """
    UPDATE collections_collectioncase c
    SET status = 'closed', closed_on = greatest(c.opened_on, coalesce(l.closed_on, %(d)s)), updated_at = now(),
        closure_reason = 'paid_off'
    FROM loans_loan l
    WHERE l.id = c.loan_id AND c.status = 'open' AND l.status IN ('closed', 'written_off')
      AND (l.closed_on IS NULL OR l.closed_on <= %(d)s)
      -- a written-off loan's case stays open in recovery while its write-off is posted
      AND NOT EXISTS (SELECT 1 FROM collections_writeoff w WHERE w.loan_id = l.id AND w.state = 'posted')
"""

_REQUIRED = required_stage_sql(dpd="d.days_past_due", rule_3_6="d.rule_3_6", has_dealer="l.dealer_id IS NOT NULL")

_MOVE_SQL = f"""
WITH src AS (
    SELECT c.id AS case_id, c.stage AS old_stage, l.dealer_id IS NOT NULL AS has_dealer,
           d.days_past_due AS dpd, d.dpd_zero_since, {_REQUIRED} AS req
    FROM collections_collectioncase c
    JOIN loans_loan l ON l.id = c.loan_id AND l.status = 'active'
    JOIN loans_loandelinquency d ON d.loan_id = c.loan_id AND d.as_of = %(d)s
    WHERE c.status = 'open' AND c.stage <> '{Stage.ENFORCEMENT}'
),
moves AS (
    SELECT case_id, old_stage, has_dealer, dpd_zero_since,
           CASE WHEN dpd <= 0 THEN '{Stage.CURE_MONITORING}' ELSE req END AS new_stage,
           CASE WHEN dpd <= 0 THEN '{CaseStageChange.Reason.CURED}'
                WHEN old_stage = '{Stage.CURE_MONITORING}' THEN '{CaseStageChange.Reason.RELAPSED}'
                ELSE '{CaseStageChange.Reason.LADDER}' END AS reason
    FROM src
),
changed AS (
    -- An active promise to pay freezes every climb below enforcement (domain.md "Collections").
    SELECT * FROM moves m WHERE new_stage IS NOT NULL AND new_stage <> old_stage
      AND NOT (new_stage <> '{Stage.ENFORCEMENT}' AND {_rank_sql("m.new_stage")} > {_rank_sql("m.old_stage")}
               AND {ACTIVE_PROMISE_EXISTS_SQL.format(case_id="m.case_id")})
),
upd AS (
    UPDATE collections_collectioncase c
    SET stage = ch.new_stage, stage_since = %(d)s, updated_at = now(),
        enforcement_since = CASE WHEN ch.new_stage = '{Stage.ENFORCEMENT}' THEN %(d)s ELSE c.enforcement_since END,
        cure_started_on = CASE WHEN ch.new_stage = '{Stage.CURE_MONITORING}'
                               THEN least(coalesce(ch.dpd_zero_since, %(d)s), %(d)s) END
    FROM changed ch
    WHERE c.id = ch.case_id AND c.stage = ch.old_stage
    RETURNING c.id, ch.old_stage, ch.new_stage, ch.reason, ch.has_dealer
),
hist AS (
    INSERT INTO collections_casestagechange
        (case_id, from_stage, to_stage, "on", reason, note, skipped_stages, by_id, created_at)
    SELECT upd.id, upd.old_stage, upd.new_stage, %(d)s, upd.reason, '',
           CASE WHEN upd.reason = '{CaseStageChange.Reason.LADDER}' THEN {
    _skipped_sql(low_rank=_rank_sql("upd.old_stage"), high_rank=_rank_sql("upd.new_stage"), has_dealer="upd.has_dealer")
} ELSE ARRAY[]::varchar[] END,
           NULL, now()
    FROM upd
    ON CONFLICT (case_id, to_stage, "on") DO NOTHING
    RETURNING skipped_stages
)
SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM hist),
       (SELECT count(*) FROM hist WHERE cardinality(skipped_stages) > 0)
"""

_CLOSE_CURED_SQL = f"""
    UPDATE collections_collectioncase c
    SET status = 'closed', closed_on = %(d)s, updated_at = now(), closure_reason = 'cured'
    FROM loans_loandelinquency d
    WHERE d.loan_id = c.loan_id AND d.as_of = %(d)s AND d.days_past_due = 0
      AND c.status = 'open' AND c.stage = '{Stage.CURE_MONITORING}'
      AND c.cure_started_on + %(cure_days)s <= %(d)s
"""

_OPEN_SQL = f"""
WITH new AS (
    INSERT INTO collections_collectioncase
        (loan_id, status, stage, stage_since, opened_on, collector_id, enforcement_since, created_at, updated_at)
    SELECT l.id, 'open', {_REQUIRED}, %(d)s, %(d)s, l.officer_id,
           CASE WHEN d.rule_3_6 THEN %(d)s::date END, now(), now()
    FROM loans_loandelinquency d
    JOIN loans_loan l ON l.id = d.loan_id
    WHERE d.as_of = %(d)s AND d.days_past_due >= 1 AND l.status = 'active'
      AND NOT EXISTS (SELECT 1 FROM collections_collectioncase c WHERE c.loan_id = l.id AND c.status = 'open')
    ORDER BY l.id
    ON CONFLICT (loan_id) WHERE status = 'open' DO NOTHING
    RETURNING id, loan_id, stage
),
hist AS (
    INSERT INTO collections_casestagechange
        (case_id, from_stage, to_stage, "on", reason, note, skipped_stages, by_id, created_at)
    SELECT new.id, '', new.stage, %(d)s, '{CaseStageChange.Reason.OPENED}', '',
           {_skipped_sql(low_rank="0", high_rank=_rank_sql("new.stage"), has_dealer="l.dealer_id IS NOT NULL")},
           NULL, now()
    FROM new JOIN loans_loan l ON l.id = new.loan_id
    ON CONFLICT (case_id, to_stage, "on") DO NOTHING
    RETURNING skipped_stages
)
SELECT (SELECT count(*) FROM new), (SELECT count(*) FROM hist),
       (SELECT count(*) FROM hist WHERE cardinality(skipped_stages) > 0)
"""

_ACTION_ROWS = [
    (str(stage), str(kind), str(track), 1 if kind == "call_task" else 0)
    for stage, actions in STAGE_ACTIONS.items()
    for kind, track in actions
]
_ACTIONS_SQL = """
    INSERT INTO collections_caseaction (case_id, stage, kind, track, status, due_on, created_at, updated_at)
    SELECT c.id, c.stage, a.kind, a.track, 'pending', %(d)s::date + a.due_days, now(), now()
    FROM collections_collectioncase c
    JOIN loans_loan l ON l.id = c.loan_id
    JOIN unnest(%(a_stage)s::varchar[], %(a_kind)s::varchar[], %(a_track)s::varchar[], %(a_days)s::int[])
         AS a(stage, kind, track, due_days) ON a.stage = c.stage
    WHERE c.status = 'open' AND c.stage_since = %(d)s
      AND (a.track <> 'dealer_guarantee' OR l.dealer_id IS NOT NULL)
      AND (a.track <> 'insurer_claim' OR l.insurer_id IS NOT NULL)
    ORDER BY c.id
    ON CONFLICT (case_id, stage, kind, track) DO NOTHING
"""


def case_actions_create_due(*, as_of: date) -> int:
    """Create the actions of every open case that entered its stage on AS_OF (idempotent)."""
    params = {
        "d": as_of,
        "a_stage": [row[0] for row in _ACTION_ROWS],
        "a_kind": [row[1] for row in _ACTION_ROWS],
        "a_track": [row[2] for row in _ACTION_ROWS],
        "a_days": [row[3] for row in _ACTION_ROWS],
    }
    with connection.cursor() as cursor:
        cursor.execute(_ACTIONS_SQL, params)
        return cursor.rowcount


@transaction.atomic
def cases_update_due(*, as_of: date) -> int:
    """Bring every case in line with the arrears state stored for AS_OF; returns rows changed."""
    params = {"d": as_of, "cure_days": CURE_MONITOR_DAYS}
    changed = 0
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_CLOSE_FINISHED_LOANS_SQL, params)
        closed_loans = cursor.rowcount
    kept, broken = promises_resolve_due(as_of=as_of)
    with connection.cursor() as cursor:
        cursor.execute(_MOVE_SQL, params)
        moved, moved_history, moved_skipping = cursor.fetchone()
        cursor.execute(_CLOSE_CURED_SQL, params)
        closed_cured = cursor.rowcount
        cursor.execute(_OPEN_SQL, params)
        opened, opened_history, opened_skipping = cursor.fetchone()
    actions = case_actions_create_due(as_of=as_of)
    actions += enforcement_open_due(as_of=as_of)  # tracks and dealer advance requests of the new stages
    actions += letters_outbox_create_due(as_of=as_of)  # the letters of the new stages (outbox, same transaction)
    changed = closed_loans + kept + broken + moved + moved_history + closed_cured + opened + opened_history + actions
    logger.info(
        "collections.cases %s: opened %d, stage changes %d, closed %d (loan closed) + %d (cured), actions %d",
        as_of, opened, moved, closed_loans, closed_cured, actions,
    )  # fmt: skip
    if moved_skipping or opened_skipping:
        logger.info(
            "collections.cases %s: %d cases crossed several thresholds at once and entered only the highest "
            "stage (skipped stages are on their history rows)",
            as_of, moved_skipping + opened_skipping,
        )  # fmt: skip
    return changed
