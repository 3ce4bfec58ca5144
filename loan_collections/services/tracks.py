"""Enforcement tracks and dealer advance requests: what the nightly run does, set-based.

Called from `cases_update_due` (same transaction as the stage change):

- `tracks_open_due`: every open case in enforcement without tracks gets them, dated AS_OF:
  legal action against the borrower (preparing); the dealer guarantee call (notice sent, for the
  buy-back price = outstanding principal + overdue interest, deadline +10 days) when the loan has
  a dealer; the insurer claim (filed, same amount) when the loan is insured.
- `dealer_advances_open_due`: every open case in the dealer advance stage without a request since
  it entered the stage gets one (amount = total overdue, deadline +5 days).

The `collections.enforcement` step (`enforcement_update_due`, after the cases step):

1. dealer and insurer money posted through the payments API (payer dealer / insurer, not
   reversed, value-dated from the notice or request up to AS_OF) updates what each guarantee
   call, insurer claim and dealer advance request has recovered, and their states;
2. a guarantee call not fully paid by its deadline: a notice still unanswered becomes refused,
   the legal action against the dealer is proposed (preparing) and the insurer claim opened if
   the loan is insured and it was not already;
3. a dealer or insurer that paid its full claim settles the case: closed as guarantor_settled;
4. the tracks of a closed case (settled, paid off, cured, write-off closed) are closed with it.

Every track state change writes a `TrackEvent`. Every write is guarded (states compared, unique
keys with ON CONFLICT DO NOTHING), so running a date twice changes nothing.
"""

import logging
from datetime import date

from django.db import connection, transaction
from django.utils.translation import gettext_noop

from loan_collections.models import ClosureReason, EnforcementTrack, Stage, TrackState

logger = logging.getLogger(__name__)

DEALER_ADVANCE_DEADLINE_DAYS = 5
GUARANTEE_CALL_DEADLINE_DAYS = 10

# Notes of the events the nightly run writes: stored in English, shown translated
# (`{% translate event.note %}`).
NOTE_OPENED = gettext_noop("Opened on entering enforcement")
NOTE_MONEY = gettext_noop("Payments received through the payments API")
NOTE_LAPSED = gettext_noop("Not paid by the deadline")
NOTE_LEGAL_DEALER = gettext_noop("Proposed: the dealer did not pay the guarantee call by its deadline")
NOTE_INSURER_AFTER_LAPSE = gettext_noop("Opened: the dealer did not pay the guarantee call by its deadline")
NOTE_REFUSED_DEALER = gettext_noop("Proposed: the dealer refused the guarantee call")
NOTE_INSURER_AFTER_REFUSAL = gettext_noop("Opened: the dealer refused the guarantee call")
NOTE_SETTLED = gettext_noop("Case settled by the dealer or the insurer")
NOTE_CASE_CLOSED = gettext_noop("The case was closed")

_K = EnforcementTrack.Kind
_A = EnforcementTrack.Against
_S = TrackState

_EVENT_COLUMNS = 'track_id, from_state, to_state, "on", amount, note, by_id, created_at'

_OPEN_TRACKS_SQL = f"""
WITH src AS (
    SELECT c.id AS case_id, l.dealer_id, l.insurer_id,
           d.outstanding_principal + d.overdue_interest AS buy_back,
           d.outstanding_principal + d.overdue_interest + d.overdue_fees AS claim
    FROM collections_collectioncase c
    JOIN loans_loan l ON l.id = c.loan_id
    JOIN loans_loandelinquency d ON d.loan_id = c.loan_id AND d.as_of = %(d)s
    WHERE c.status = 'open' AND c.stage = '{Stage.ENFORCEMENT}'
      AND NOT EXISTS (SELECT 1 FROM collections_enforcementtrack t WHERE t.case_id = c.id)
),
rows AS (
    SELECT case_id, '{_K.LEGAL}' AS kind, '{_A.BORROWER}' AS against, '{_S.PREPARING}' AS state,
           NULL::date AS deadline, claim AS amount FROM src
    UNION ALL
    SELECT case_id, '{_K.DEALER_GUARANTEE}', '{_A.DEALER}', '{_S.NOTICE_SENT}',
           %(d)s::date + %(guarantee_days)s, buy_back FROM src WHERE dealer_id IS NOT NULL
    UNION ALL
    SELECT case_id, '{_K.INSURER_CLAIM}', '{_A.INSURER}', '{_S.FILED}', NULL, buy_back FROM src
    WHERE insurer_id IS NOT NULL
),
ins AS (
    INSERT INTO collections_enforcementtrack
        (case_id, kind, against, state, opened_on, deadline_on, amount_claimed, amount_recovered, reference,
         closed_on, created_at, updated_at)
    SELECT case_id, kind, against, state, %(d)s, deadline, amount, 0, '', NULL, now(), now()
    FROM rows ORDER BY case_id, kind
    ON CONFLICT (case_id, kind, against) DO NOTHING
    RETURNING id, state, amount_claimed
),
ev AS (
    INSERT INTO collections_trackevent ({_EVENT_COLUMNS})
    SELECT id, '', state, %(d)s, amount_claimed, %(note)s, NULL, now() FROM ins
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins)
"""

_OPEN_ADVANCES_SQL = f"""
    INSERT INTO collections_dealeradvancerequest
        (case_id, dealer_id, requested_on, deadline_on, amount_requested, amount_paid, state, resolved_on,
         created_at, updated_at)
    SELECT c.id, l.dealer_id, %(d)s, %(d)s::date + %(advance_days)s, d.overdue_amount, 0, 'requested', NULL,
           now(), now()
    FROM collections_collectioncase c
    JOIN loans_loan l ON l.id = c.loan_id AND l.dealer_id IS NOT NULL
    JOIN loans_loandelinquency d ON d.loan_id = c.loan_id AND d.as_of = %(d)s
    WHERE c.status = 'open' AND c.stage = '{Stage.DEALER_ADVANCE_REQUEST}' AND c.stage_since <= %(d)s
      AND NOT EXISTS (SELECT 1 FROM collections_dealeradvancerequest r
                      WHERE r.case_id = c.id AND r.requested_on >= c.stage_since)
    ORDER BY c.id
    ON CONFLICT (case_id, requested_on) DO NOTHING
"""

# 1. Money: what each guarantee call and insurer claim recovered, and the state it implies.
_TRACK_MONEY_SQL = f"""
WITH money AS (
    SELECT t.id, t.kind, t.state, t.amount_claimed, t.amount_recovered, t.deadline_on,
           coalesce((
               SELECT sum(p.amount) FROM loans_payment p
               WHERE p.loan_id = c.loan_id AND p.reversed_at IS NULL
                 AND p.payer = CASE t.kind WHEN '{_K.DEALER_GUARANTEE}' THEN 'dealer' ELSE 'insurer' END
                 AND p.value_date >= t.opened_on AND p.value_date <= %(d)s
           ), 0) AS recovered
    FROM collections_enforcementtrack t
    JOIN collections_collectioncase c ON c.id = t.case_id
    WHERE c.status = 'open' AND t.kind IN ('{_K.DEALER_GUARANTEE}', '{_K.INSURER_CLAIM}')
      AND t.state <> '{_S.REJECTED}'
),
calc AS (
    SELECT * FROM (
    SELECT id, state AS old_state, recovered, amount_recovered,
           CASE
               WHEN amount_claimed > 0 AND recovered >= amount_claimed THEN '{_S.PAID}'
               WHEN kind = '{_K.DEALER_GUARANTEE}' AND recovered > 0 THEN '{_S.PARTLY_PAID}'
               WHEN kind = '{_K.DEALER_GUARANTEE}' AND state IN ('{_S.PAID}', '{_S.PARTLY_PAID}') THEN
                   CASE WHEN deadline_on <= %(d)s THEN '{_S.REFUSED}' ELSE '{_S.NOTICE_SENT}' END
               WHEN kind = '{_K.INSURER_CLAIM}' AND state = '{_S.PAID}' THEN '{_S.APPROVED}'
               ELSE state
           END AS new_state
    FROM money
    ) AS x
    WHERE recovered <> amount_recovered OR new_state <> old_state
),
upd AS (
    UPDATE collections_enforcementtrack t
    SET amount_recovered = calc.recovered, state = calc.new_state, updated_at = now(),
        closed_on = CASE WHEN calc.new_state = '{_S.PAID}' THEN coalesce(t.closed_on, %(d)s) END
    FROM calc
    WHERE t.id = calc.id AND t.state = calc.old_state
    RETURNING t.id, calc.old_state, calc.new_state, calc.recovered
),
ev AS (
    INSERT INTO collections_trackevent ({_EVENT_COLUMNS})
    SELECT id, old_state, new_state, %(d)s, recovered, %(note)s, NULL, now() FROM upd
    RETURNING 1
)
SELECT (SELECT count(*) FROM upd)
"""

# 2. A guarantee call not fully paid by its deadline.
_LAPSE_SQL = f"""
WITH lapsed AS (
    SELECT t.id, t.case_id, t.state, t.amount_claimed, t.amount_claimed - t.amount_recovered AS remaining,
           l.insurer_id
    FROM collections_enforcementtrack t
    JOIN collections_collectioncase c ON c.id = t.case_id
    JOIN loans_loan l ON l.id = c.loan_id
    WHERE c.status = 'open' AND t.kind = '{_K.DEALER_GUARANTEE}' AND t.deadline_on <= %(d)s
      AND t.state IN ('{_S.NOTICE_SENT}', '{_S.PARTLY_PAID}', '{_S.REFUSED}')
      AND t.amount_recovered < t.amount_claimed
),
refused AS (
    UPDATE collections_enforcementtrack t SET state = '{_S.REFUSED}', updated_at = now()
    FROM lapsed WHERE t.id = lapsed.id AND t.state = '{_S.NOTICE_SENT}'
    RETURNING t.id
),
refused_ev AS (
    INSERT INTO collections_trackevent ({_EVENT_COLUMNS})
    SELECT id, '{_S.NOTICE_SENT}', '{_S.REFUSED}', %(d)s, NULL, %(note_lapsed)s, NULL, now() FROM refused
    RETURNING 1
),
opened AS (
    INSERT INTO collections_enforcementtrack
        (case_id, kind, against, state, opened_on, deadline_on, amount_claimed, amount_recovered, reference,
         closed_on, created_at, updated_at)
    SELECT case_id, kind, against, state, %(d)s, NULL, amount, 0, '', NULL, now(), now() FROM (
        SELECT case_id, '{_K.LEGAL}' AS kind, '{_A.DEALER}' AS against, '{_S.PREPARING}' AS state,
               remaining AS amount FROM lapsed
        UNION ALL
        SELECT case_id, '{_K.INSURER_CLAIM}', '{_A.INSURER}', '{_S.FILED}', amount_claimed FROM lapsed
        WHERE insurer_id IS NOT NULL
    ) AS rows
    ORDER BY case_id, kind
    ON CONFLICT (case_id, kind, against) DO NOTHING
    RETURNING id, kind, state, amount_claimed
),
opened_ev AS (
    INSERT INTO collections_trackevent ({_EVENT_COLUMNS})
    SELECT id, '', state, %(d)s, amount_claimed,
           CASE kind WHEN '{_K.LEGAL}' THEN %(note_legal)s ELSE %(note_insurer)s END, NULL, now()
    FROM opened
    RETURNING 1
)
SELECT (SELECT count(*) FROM refused) + (SELECT count(*) FROM opened)
"""

# 3. A dealer or insurer that paid its full claim settles the case.
_SETTLE_SQL = f"""
    UPDATE collections_collectioncase c
    SET status = 'closed', closed_on = greatest(c.opened_on, %(d)s), closure_reason = %(reason)s,
        updated_at = now()
    WHERE c.status = 'open' AND EXISTS (
        SELECT 1 FROM collections_enforcementtrack t
        WHERE t.case_id = c.id AND t.kind IN ('{_K.DEALER_GUARANTEE}', '{_K.INSURER_CLAIM}')
          AND t.state = '{_S.PAID}' AND t.opened_on <= %(d)s
    )
"""

# 4. The tracks of a closed case (settled, paid off, cured, write-off closed) close with it.
_CLOSE_TRACKS_SQL = f"""
WITH closed_tracks AS (
    UPDATE collections_enforcementtrack t SET closed_on = c.closed_on, updated_at = now()
    FROM collections_collectioncase c
    WHERE c.id = t.case_id AND c.status = 'closed' AND t.closed_on IS NULL AND c.closed_on <= %(d)s
    RETURNING t.id, t.state, c.closed_on, c.closure_reason
),
ev AS (
    INSERT INTO collections_trackevent ({_EVENT_COLUMNS})
    SELECT id, state, state, closed_on, NULL,
           CASE closure_reason WHEN %(settled)s THEN %(note_settled)s ELSE %(note_closed)s END, NULL, now()
    FROM closed_tracks
    RETURNING 1
)
SELECT (SELECT count(*) FROM closed_tracks)
"""

# Dealer advance requests: the dealer's money between this request and the next one (or the
# guarantee call of the case, which counts its own money), and the state it implies.
_ADVANCE_MONEY_SQL = """
WITH req AS (
    SELECT r.id, r.case_id, r.requested_on, r.deadline_on, r.amount_requested, r.amount_paid, r.state,
           r.resolved_on, c.loan_id,
           coalesce(
               LEAD(r.requested_on) OVER (PARTITION BY r.case_id ORDER BY r.requested_on),
               (SELECT min(t.opened_on) FROM collections_enforcementtrack t
                WHERE t.case_id = r.case_id AND t.kind = 'dealer_guarantee'),
               'infinity'::date
           ) AS window_end
    FROM collections_dealeradvancerequest r
    JOIN collections_collectioncase c ON c.id = r.case_id
    WHERE c.status = 'open' AND r.requested_on <= %(d)s
),
money AS (
    SELECT req.*, coalesce((
        SELECT sum(p.amount) FROM loans_payment p
        WHERE p.loan_id = req.loan_id AND p.payer = 'dealer' AND p.reversed_at IS NULL
          AND p.value_date >= req.requested_on AND p.value_date < req.window_end AND p.value_date <= %(d)s
    ), 0) AS paid
    FROM req
),
calc AS (
    SELECT id, state AS old_state, paid, resolved_on, deadline_on,
           CASE WHEN paid >= amount_requested THEN 'paid'
                WHEN paid > 0 THEN 'partly_paid'
                WHEN deadline_on <= %(d)s THEN 'unpaid'
                ELSE 'requested' END AS new_state
    FROM money
)
UPDATE collections_dealeradvancerequest r
SET amount_paid = calc.paid, state = calc.new_state, updated_at = now(),
    resolved_on = CASE WHEN calc.new_state = 'paid' OR calc.deadline_on <= %(d)s
                       THEN CASE WHEN calc.new_state = calc.old_state THEN coalesce(r.resolved_on, %(d)s)
                                 ELSE %(d)s END END
FROM calc
WHERE r.id = calc.id AND (r.amount_paid <> calc.paid OR r.state <> calc.new_state
      OR (calc.new_state = 'paid' OR calc.deadline_on <= %(d)s) AND r.resolved_on IS NULL)
"""


def _scalar(cursor, sql: str, params: dict) -> int:
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


def tracks_open_due(*, as_of: date) -> int:
    """Open the tracks of every open enforcement case that has none yet (idempotent)."""
    params = {"d": as_of, "guarantee_days": GUARANTEE_CALL_DEADLINE_DAYS, "note": NOTE_OPENED}
    with connection.cursor() as cursor:
        return _scalar(cursor, _OPEN_TRACKS_SQL, params)


def dealer_advances_open_due(*, as_of: date) -> int:
    """Ask the dealer for an advance in every case that entered the dealer advance stage (idempotent)."""
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_ADVANCES_SQL, {"d": as_of, "advance_days": DEALER_ADVANCE_DEADLINE_DAYS})
        return cursor.rowcount


def enforcement_open_due(*, as_of: date) -> int:
    """What entering enforcement or the dealer advance stage opens; run inside `cases_update_due`."""
    return tracks_open_due(as_of=as_of) + dealer_advances_open_due(as_of=as_of)


@transaction.atomic
def enforcement_update_due(*, as_of: date) -> int:
    """The `collections.enforcement` nightly step; returns rows changed (0 on a second run)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        money = _scalar(cursor, _TRACK_MONEY_SQL, {"d": as_of, "note": NOTE_MONEY})
        cursor.execute(_ADVANCE_MONEY_SQL, {"d": as_of})
        advances = cursor.rowcount
        lapsed = _scalar(
            cursor,
            _LAPSE_SQL,
            {
                "d": as_of,
                "note_lapsed": NOTE_LAPSED,
                "note_legal": NOTE_LEGAL_DEALER,
                "note_insurer": NOTE_INSURER_AFTER_LAPSE,
            },
        )
        cursor.execute(_SETTLE_SQL, {"d": as_of, "reason": ClosureReason.GUARANTOR_SETTLED})
        settled = cursor.rowcount
        closed = _scalar(
            cursor,
            _CLOSE_TRACKS_SQL,
            {
                "d": as_of,
                "settled": ClosureReason.GUARANTOR_SETTLED,
                "note_settled": NOTE_SETTLED,
                "note_closed": NOTE_CASE_CLOSED,
            },
        )
    logger.info(
        "collections.enforcement %s: %d tracks with new money, %d dealer advances updated, %d lapse changes, "
        "%d cases settled by a dealer or insurer, %d tracks closed with their case",
        as_of, money, advances, lapsed, settled, closed,
    )  # fmt: skip
    return money + advances + lapsed + settled + closed
