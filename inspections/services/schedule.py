"""The nightly inspection scheduler (`inspections.schedule`, order 40): set-based SQL over the
whole portfolio, idempotent (every insert is guarded by NOT EXISTS and the partial unique keys
with ON CONFLICT DO NOTHING; every update compares before it writes).

For the business date D, in this order:

1. open inspections of loans closed or written off are cancelled (scheduled, assigned,
   in progress or returned; a report already submitted runs to its end);
2. `first`: every active loan disbursed on or before D (and less than FIRST_LOOKBACK_DAYS ago)
   without a first inspection gets one, due disbursement + 30;
3. `overdue_loan`: every open collection case opened in the last 30 days without its inspection
   gets one, due opened_on + 7 (E27);
4. class changes seen in the stored arrears state for D (against what the scheduler last saw):
   an open routine inspection moves to min(current due, D + freq[new class]); a downgrade adds an
   `event` inspection due D + 7, unless the loan already has an open overdue-loan inspection
   (which covers an arrears-driven downgrade);
5. `routine`: an active loan without an open first or routine inspection gets one due
   last completed inspection + freq[class]; a loan older than the first-inspection look-back
   with no inspection at all gets one due D + freq[class].

New inspections go straight to the loan's officer (state `assigned`), or stay `scheduled` when the
loan has none. Returns the rows changed.
"""

from datetime import date

from django.db import connection, transaction

from inspections.models import (
    CANCELLABLE_STATES,
    EVENT_DAYS,
    FIRST_DAYS,
    FIRST_LOOKBACK_DAYS,
    FREQ_DAYS,
    OPEN_STATES,
    OVERDUE_LOAN_DAYS,
)
from loans.models import CLASS_RANK

OVERDUE_LOAN_WINDOW_DAYS = 30


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


OPEN = _in(OPEN_STATES)


def freq_sql(expr: str) -> str:
    """Days between routine inspections for the class in EXPR (normal when unknown)."""
    cases = " ".join(f"WHEN '{cls}' THEN {days}" for cls, days in FREQ_DAYS.items())
    return f"(CASE {expr} {cases} ELSE {FREQ_DAYS['normal']} END)"


def rank_sql(expr: str) -> str:
    cases = " ".join(f"WHEN '{cls}' THEN {rank}" for cls, rank in CLASS_RANK.items())
    return f"(CASE {expr} {cases} ELSE 0 END)"


def _new_state(officer: str) -> str:
    return f"CASE WHEN {officer} IS NULL THEN 'scheduled' ELSE 'assigned' END"


_INSERT_COLUMNS = """(loan_id, type, state, due_date, scheduled_on, reason, officer_id, collection_case_id,
    adverse_event_id, sample_id, previous_id, compliance_notes, credit_notes, income_notes, collateral_location,
    collateral_condition, employment_status, guarantor_notes, dealer_notes, file_notes, risk_signals,
    proposed_classification, analysis, suggestions, review_comments, return_count, cancel_reason,
    created_at, updated_at)"""
# The values after the triggering columns: the report's text fields start empty.
_EMPTY_REPORT = "'', '', '', '', '', '', '', '', '', '', '', '', '', '', 0, '', now(), now()"

_CANCEL_SQL = f"""
    UPDATE inspections_inspection i
    SET state = 'cancelled', cancelled_on = %(d)s, cancel_reason = 'loan ' || l.status, updated_at = now()
    FROM loans_loan l
    WHERE l.id = i.loan_id AND l.status IN ('closed', 'written_off') AND i.state IN {_in(CANCELLABLE_STATES)}
      AND (l.closed_on IS NULL OR l.closed_on <= %(d)s)
"""

_FIRST_SQL = f"""
    INSERT INTO inspections_inspection {_INSERT_COLUMNS}
    SELECT l.id, 'first', {_new_state("l.officer_id")}, l.disbursement_date + {FIRST_DAYS}, %(d)s, 'disbursement',
           l.officer_id, NULL, NULL, NULL, NULL, {_EMPTY_REPORT}
    FROM loans_loan l
    WHERE l.status = 'active' AND l.disbursement_date <= %(d)s
      AND l.disbursement_date > %(d)s::date - {FIRST_LOOKBACK_DAYS}
      AND NOT EXISTS (SELECT 1 FROM inspections_inspection i WHERE i.loan_id = l.id AND i.type = 'first')
    ORDER BY l.id
    ON CONFLICT DO NOTHING
"""

_OVERDUE_LOAN_SQL = f"""
    INSERT INTO inspections_inspection {_INSERT_COLUMNS}
    SELECT l.id, 'overdue_loan', {_new_state("l.officer_id")}, c.opened_on + {OVERDUE_LOAN_DAYS}, %(d)s,
           'collection case', l.officer_id, c.id, NULL, NULL, NULL, {_EMPTY_REPORT}
    FROM collections_collectioncase c
    JOIN loans_loan l ON l.id = c.loan_id AND l.status = 'active'
    WHERE c.status = 'open' AND c.opened_on <= %(d)s AND c.opened_on > %(d)s::date - {OVERDUE_LOAN_WINDOW_DAYS}
      AND NOT EXISTS (SELECT 1 FROM inspections_inspection i WHERE i.collection_case_id = c.id)
      AND NOT EXISTS (
          SELECT 1 FROM inspections_inspection i
          WHERE i.loan_id = l.id AND i.type = 'overdue_loan' AND i.state IN {OPEN}
      )
    ORDER BY c.id
    ON CONFLICT DO NOTHING
"""

_WATCH_NEW_SQL = """
    INSERT INTO inspections_loanclasswatch (loan_id, classification, since)
    SELECT d.loan_id, d.classification, %(d)s
    FROM loans_loandelinquency d
    WHERE d.as_of = %(d)s
      AND NOT EXISTS (SELECT 1 FROM inspections_loanclasswatch w WHERE w.loan_id = d.loan_id)
    ON CONFLICT DO NOTHING
"""

_CLASS_CHANGE_SQL = f"""
WITH ch AS (
    SELECT d.loan_id, w.classification AS old_class, d.classification AS new_class, l.officer_id,
           {rank_sql("d.classification")} > {rank_sql("w.classification")} AS downgrade
    FROM loans_loandelinquency d
    JOIN inspections_loanclasswatch w ON w.loan_id = d.loan_id
    JOIN loans_loan l ON l.id = d.loan_id AND l.status = 'active'
    WHERE d.as_of = %(d)s AND w.classification <> d.classification AND w.since < %(d)s
),
moved AS (
    UPDATE inspections_inspection i
    SET due_date = %(d)s::date + {freq_sql("ch.new_class")}, updated_at = now()
    FROM ch
    WHERE i.loan_id = ch.loan_id AND i.type = 'routine' AND i.state IN {OPEN}
      AND i.due_date > %(d)s::date + {freq_sql("ch.new_class")}
    RETURNING i.id
),
events AS (
    INSERT INTO inspections_inspection {_INSERT_COLUMNS}
    SELECT ch.loan_id, 'event', {_new_state("ch.officer_id")}, %(d)s::date + {EVENT_DAYS}, %(d)s,
           'downgrade ' || ch.old_class || ' -> ' || ch.new_class, ch.officer_id, NULL, NULL, NULL, NULL,
           {_EMPTY_REPORT}
    FROM ch
    WHERE ch.downgrade
      AND NOT EXISTS (
          SELECT 1 FROM inspections_inspection i
          WHERE i.loan_id = ch.loan_id AND i.type IN ('event', 'overdue_loan') AND i.state IN {OPEN}
      )
    ORDER BY ch.loan_id
    ON CONFLICT DO NOTHING
    RETURNING id
),
seen AS (
    UPDATE inspections_loanclasswatch w
    SET classification = ch.new_class, since = %(d)s
    FROM ch
    WHERE w.loan_id = ch.loan_id
    RETURNING w.loan_id
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM events), (SELECT count(*) FROM seen)
"""

_ROUTINE_SQL = f"""
    INSERT INTO inspections_inspection {_INSERT_COLUMNS}
    SELECT l.id, 'routine', {_new_state("l.officer_id")},
           coalesce(last.completed_on, %(d)s::date) + {freq_sql("coalesce(d.classification, 'normal')")}, %(d)s,
           CASE WHEN last.completed_on IS NULL THEN 'no inspection on record' ELSE 'after last inspection' END,
           l.officer_id, NULL, NULL, NULL, last.id, {_EMPTY_REPORT}
    FROM loans_loan l
    LEFT JOIN loans_loandelinquency d ON d.loan_id = l.id
    LEFT JOIN LATERAL (
        SELECT i.id, i.completed_on FROM inspections_inspection i
        WHERE i.loan_id = l.id AND i.state = 'completed'
        ORDER BY i.completed_on DESC, i.id DESC LIMIT 1
    ) last ON true
    WHERE l.status = 'active' AND l.disbursement_date <= %(d)s
      AND NOT EXISTS (
          SELECT 1 FROM inspections_inspection i
          WHERE i.loan_id = l.id AND i.type IN ('first', 'routine') AND i.state IN {OPEN}
      )
      AND (
          last.id IS NOT NULL
          OR (l.disbursement_date <= %(d)s::date - {FIRST_LOOKBACK_DAYS}
              AND NOT EXISTS (SELECT 1 FROM inspections_inspection i WHERE i.loan_id = l.id))
      )
    ORDER BY l.id
    ON CONFLICT DO NOTHING
"""


def inspections_schedule(*, as_of: date) -> int:
    """Run the scheduler for AS_OF (see the module docstring); returns the rows changed."""
    params = {"d": as_of}
    changed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in (_CANCEL_SQL, _FIRST_SQL, _OVERDUE_LOAN_SQL):
            cursor.execute(sql, params)
            changed += cursor.rowcount
        cursor.execute(_CLASS_CHANGE_SQL, params)
        moved, events, _seen = cursor.fetchone()
        changed += moved + events
        cursor.execute(_WATCH_NEW_SQL, params)
        cursor.execute(_ROUTINE_SQL, params)
        changed += cursor.rowcount
    return changed
