"""Each loan keeps the first installment of its schedule that still owes something
(Loan.open_from), so that appending money reads the schedule from there instead of summing it
whole. 1 is always safe (a lower bound); stored ledgers get the exact value.
`loans_payment_append` (last changed in migration 0015) reads from it and keeps it too.

The loan also keeps the excess handling its allocations were made with (Loan.ledger_prepay), as it
keeps grace and tolerance: money is appended only under the same one. Stored ledgers get it where
every parameter version that can apply to the product agrees on it; elsewhere it stays unknown
(NULL) and the loan's next payment replays it in full."""

import importlib

from django.db import migrations, models

FUNCTION = r"""
CREATE OR REPLACE FUNCTION loans_payment_append(
    p_number text, p_patterns text[], p_external_id text, p_amount numeric, p_value_date date, p_payer text,
    p_fingerprint text, p_products bigint[], p_graces int[], p_tolerances numeric[], p_prepays boolean[],
    p_context_id text, p_context_metadata text, OUT payment_id bigint, OUT loan_id bigint, OUT answer text
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_loan record;
    v_grace int;
    v_tolerance numeric;
    v_prepay boolean;
    v_new_open int;
    v_last int;
    v_first int;
    v_before_number int;
    v_before_streak int;
    r record;
    v_left numeric := p_amount;
    v_streak int := 0;
    v_last_kept int;
    v_run_from int;
    v_fees numeric; v_interest numeric; v_principal numeric;
    v_take_fees numeric; v_take_interest numeric; v_take_principal numeric;
    v_day date;
    v_touched boolean;
    v_new_fees numeric; v_new_interest numeric; v_new_principal numeric; v_new_by_deadline numeric;
    v_new_through date;
    v_answered numeric := 0;
    v_through date;
    v_status text;
    v_closed_on date;
    v_answer_rows json[] := '{}';
    a_installment bigint[] := '{}'; a_day date[] := '{}';
    a_fees numeric[] := '{}'; a_interest numeric[] := '{}'; a_principal numeric[] := '{}';
    u_id bigint[] := '{}'; u_principal numeric[] := '{}'; u_interest numeric[] := '{}'; u_fees numeric[] := '{}';
    u_by_deadline numeric[] := '{}'; u_streak int[] := '{}'; u_through date[] := '{}'; u_number int[] := '{}';
    u_touched boolean[] := '{}';
    v_answer json;
BEGIN
    -- The loan, locked, if the caller may see it (p_patterns: LIKE patterns of its branch paths,
    -- NULL for every branch).
    SELECT l.id, l.number, l.product_id, l.disbursement_date, l.status, l.closed_on, l.received_total,
           l.last_value_date, l.ledger_through, l.ledger_grace_days, l.ledger_tolerance, l.missed_run_from,
           l.open_from, l.ledger_prepay
    INTO v_loan
    FROM loans_loan l
    WHERE l.number = p_number
      AND (p_patterns IS NULL
           OR EXISTS (SELECT 1 FROM org_branch b WHERE b.id = l.branch_id AND b.path LIKE ANY(p_patterns)))
    FOR UPDATE OF l;
    IF NOT FOUND OR p_value_date < v_loan.disbursement_date OR p_value_date < v_loan.last_value_date THEN
        RETURN;
    END IF;
    -- The loan's product's parameters (the row without a product is the default).
    SELECT t.grace, t.tolerance, t.prepay INTO v_grace, v_tolerance, v_prepay
    FROM unnest(p_products, p_graces, p_tolerances, p_prepays) AS t(product, grace, tolerance, prepay)
    WHERE t.product = v_loan.product_id OR t.product IS NULL
    ORDER BY t.product IS NULL
    LIMIT 1;
    IF NOT FOUND OR v_grace <> v_loan.ledger_grace_days OR v_tolerance <> v_loan.ledger_tolerance
       OR v_prepay IS DISTINCT FROM v_loan.ledger_prepay THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM loans_payment p WHERE p.external_id = p_external_id) THEN
        RETURN;
    END IF;
    -- The schedule, read after the lock (each statement here sees what committed before it
    -- started): engine.replay_one over what is still owed, and plan_append's summaries and
    -- streaks, planned before anything is written. Installments before the first open one are
    -- paid in full; their streaks are counted on from the one before it, or before the last run
    -- of missed installments if that starts earlier (money may end it: then the streaks of the
    -- run's paid installments get stored, see Loan.missed_run_from). None before
    -- Loan.open_from is open: the schedule is read from the one before it or the run, up to
    -- where the money is spent (as plan_append reads it).
    FOR r IN
        SELECT i.id, i.number, i.due_date, i.principal, i.interest, i.fees, i.paid_principal, i.paid_interest,
               i.paid_fees, i.borrower_paid_by_deadline, i.missed_streak, i.paid_through
        FROM loans_installment i
        WHERE i.loan_id = v_loan.id AND i.number >= least(v_loan.open_from, v_loan.missed_run_from) - 1
        ORDER BY i.number
    LOOP
        v_last := r.number;
        IF v_left = 0 AND r.number >= v_loan.missed_run_from THEN
            -- The money is spent, and this installment stays in the last run of missed ones (it
            -- is open), as do the ones after it: nothing from here on changes.
            v_new_open := coalesce(v_new_open, r.number);
            EXIT;
        END IF;
        IF v_first IS NULL THEN
            IF r.paid_principal + r.paid_interest + r.paid_fees >= r.principal + r.interest + r.fees
               AND r.number < v_loan.missed_run_from THEN
                v_before_number := r.number;
                v_before_streak := r.missed_streak;
                CONTINUE;
            END IF;
            v_first := r.number;
            IF v_before_number = v_first - 1 THEN
                v_streak := v_before_streak;
            END IF;
        END IF;
        v_fees := r.fees - r.paid_fees;
        v_interest := r.interest - r.paid_interest;
        v_principal := r.principal - r.paid_principal;
        v_new_fees := r.paid_fees;
        v_new_interest := r.paid_interest;
        v_new_principal := r.paid_principal;
        v_new_by_deadline := r.borrower_paid_by_deadline;
        v_new_through := r.paid_through;
        v_touched := false;
        IF v_left > 0 AND v_fees + v_interest + v_principal > 0 THEN
            v_take_fees := least(v_fees, v_left);
            v_left := v_left - v_take_fees;
            v_take_interest := least(v_interest, v_left);
            v_left := v_left - v_take_interest;
            v_take_principal := least(v_principal, v_left);
            v_left := v_left - v_take_principal;
            v_day := CASE WHEN v_prepay OR r.due_date <= p_value_date THEN p_value_date ELSE r.due_date END;
            a_installment := a_installment || r.id;
            a_day := a_day || v_day;
            a_fees := a_fees || v_take_fees;
            a_interest := a_interest || v_take_interest;
            a_principal := a_principal || v_take_principal;
            v_new_fees := v_new_fees + v_take_fees;
            v_new_interest := v_new_interest + v_take_interest;
            v_new_principal := v_new_principal + v_take_principal;
            v_new_through := greatest(v_new_through, v_day);
            IF p_payer = 'borrower' AND v_day <= r.due_date + v_grace THEN
                v_new_by_deadline := v_new_by_deadline + v_take_fees + v_take_interest + v_take_principal;
            END IF;
            v_through := greatest(v_through, v_day);
            v_touched := true;
            IF v_day <= p_value_date THEN
                v_answered := v_answered + v_take_fees + v_take_interest + v_take_principal;
                v_answer_rows := v_answer_rows || json_build_object(
                    'installment', r.number, 'fees', v_take_fees::numeric(20, 2)::text,
                    'interest', v_take_interest::numeric(20, 2)::text,
                    'principal', v_take_principal::numeric(20, 2)::text);
            END IF;
        END IF;
        IF v_new_open IS NULL AND v_new_principal + v_new_interest + v_new_fees < r.principal + r.interest + r.fees THEN
            v_new_open := r.number;  -- the first installment still open after the money
        END IF;
        IF r.principal + r.interest + r.fees - v_new_by_deadline > v_tolerance THEN
            v_streak := v_streak + 1;
        ELSE
            v_streak := 0;
            v_last_kept := r.number;
        END IF;
        -- Each open installment is a candidate: whether its streak is stored depends on where
        -- the last run of missed ones starts, known after the last (the write skips the rest).
        u_id := u_id || r.id;
        u_number := u_number || r.number;
        u_touched := u_touched || v_touched;
        u_principal := u_principal || v_new_principal;
        u_interest := u_interest || v_new_interest;
        u_fees := u_fees || v_new_fees;
        u_by_deadline := u_by_deadline || v_new_by_deadline;
        u_streak := u_streak || v_streak;
        u_through := u_through || v_new_through;
    END LOOP;
    -- Money only ends runs of missed installments: the last run starts where it did or later.
    v_run_from := greatest(v_loan.missed_run_from, v_last_kept + 1);
    -- No schedule: the general way (a full replay).
    IF v_last IS NULL THEN
        RETURN;
    END IF;

    -- The audit context of the caller's request (what pghistory otherwise sets before a statement).
    IF p_context_id IS NOT NULL THEN
        PERFORM set_config('pghistory.context_id', p_context_id, true),
                set_config('pghistory.context_metadata', p_context_metadata, true);
    END IF;
    v_through := greatest(v_loan.ledger_through, v_through);
    v_status := v_loan.status;
    v_closed_on := v_loan.closed_on;
    IF v_loan.status = 'active' AND v_new_open IS NULL THEN
        v_status := 'closed';
        v_closed_on := v_through;
    END IF;
    v_answer := json_build_object(
        'external_id', p_external_id, 'loan_number', v_loan.number, 'amount', p_amount::numeric(20, 2)::text,
        'value_date', to_char(p_value_date, 'YYYY-MM-DD'), 'payer', p_payer,
        'allocation', array_to_json(v_answer_rows), 'suspense', (p_amount - v_answered)::numeric(20, 2)::text,
        'reversed', false);

    -- The payment first: if another client stored its external id meanwhile (the unique index
    -- waits for it), nothing is written and the caller posts it the general way.
    INSERT INTO loans_payment (id, external_id, loan_id, amount, value_date, payer, received_at, request_fingerprint,
                               response, reversal_reason)
    VALUES (nextval(pg_get_serial_sequence('loans_payment', 'id')), p_external_id, v_loan.id, p_amount, p_value_date,
            p_payer, now(), p_fingerprint, v_answer::jsonb, '')
    ON CONFLICT (external_id) DO NOTHING
    RETURNING id INTO payment_id;
    IF payment_id IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO loans_allocation (loan_id, payment_id, installment_id, effective_date, is_borrower, payer, fees,
                                  interest, principal)
    SELECT v_loan.id, payment_id, t.installment, t.day, p_payer = 'borrower', p_payer, t.fees, t.interest, t.principal
    FROM unnest(a_installment, a_day, a_fees, a_interest, a_principal)
         AS t(installment, day, fees, interest, principal);
    UPDATE loans_installment i
    SET paid_principal = v.principal, paid_interest = v.interest, paid_fees = v.fees,
        borrower_paid_by_deadline = v.by_deadline, missed_streak = v.stored, paid_through = v.through
    FROM (
        SELECT t.*, CASE WHEN t.number < v_run_from THEN t.streak END AS stored
        FROM unnest(u_id, u_number, u_touched, u_principal, u_interest, u_fees, u_by_deadline, u_streak, u_through)
             AS t(id, number, touched, principal, interest, fees, by_deadline, streak, through)
    ) v
    WHERE i.id = v.id AND (v.touched OR i.missed_streak IS DISTINCT FROM v.stored);
    UPDATE loans_loan l
    SET ledger_version = l.ledger_version + 1, received_total = l.received_total + p_amount,
        last_value_date = greatest(l.last_value_date, p_value_date), ledger_through = v_through,
        status = v_status, closed_on = v_closed_on, missed_run_from = v_run_from,
        open_from = coalesce(v_new_open, v_last + 1),
        updated_at = CASE WHEN l.status <> v_status THEN now() ELSE l.updated_at END
    WHERE l.id = v_loan.id;
    loan_id := v_loan.id;
    answer := v_answer::text;
END
$$;
"""

PREVIOUS = importlib.import_module("loans.migrations.0015_missed_run_on_the_loan").FUNCTION

SET_OPEN_FROM = """
UPDATE loans_loan l SET open_from = s.open_from
FROM (
    SELECT loan_id,
           coalesce(min(number) FILTER (WHERE paid_principal + paid_interest + paid_fees < principal + interest + fees),
                    max(number) + 1) AS open_from
    FROM loans_installment
    GROUP BY loan_id
) s
WHERE l.id = s.loan_id AND l.open_from <> s.open_from
"""
SET_LEDGER_PREPAY = """
UPDATE loans_loan l SET ledger_prepay = h.prepay
FROM (
    SELECT pr.id AS product_id, bool_and(p.excess_handling = 'prepay') AS prepay
    FROM loans_product pr
    JOIN loans_parameterset p ON p.product_id = pr.id OR p.product_id IS NULL
    GROUP BY pr.id
    HAVING bool_and(p.excess_handling = 'prepay') OR NOT bool_or(p.excess_handling = 'prepay')
) h
WHERE l.product_id = h.product_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0015_missed_run_on_the_loan"),
    ]

    operations = [
        migrations.AddField(
            model_name="loan",
            name="open_from",
            field=models.PositiveSmallIntegerField(db_default=1, default=1),
        ),
        migrations.AddField(
            model_name="loan",
            name="ledger_prepay",
            field=models.BooleanField(null=True),
        ),
        migrations.RunSQL(SET_OPEN_FROM, migrations.RunSQL.noop),
        migrations.RunSQL(SET_LEDGER_PREPAY, migrations.RunSQL.noop),
        migrations.RunSQL(FUNCTION, PREVIOUS),
    ]
