"""The pure ladder, and its SQL twin checked against it on every combination."""

import itertools

import pytest
from django.db import connection

from loan_collections.ladder import required_stage, skipped_stages
from loan_collections.models import Stage
from loan_collections.services.cases import required_stage_sql


@pytest.mark.parametrize(
    ("dpd", "rule_3_6", "has_dealer", "expected"),
    [
        (0, False, True, None),
        (1, False, True, Stage.PHONE_REMINDER),  # E03
        (14, False, True, Stage.PHONE_REMINDER),
        (15, False, True, Stage.FIRST_LETTER),  # E06
        (29, False, False, Stage.FIRST_LETTER),
        (30, False, False, Stage.SECOND_LETTER),  # E24
        (30, False, True, Stage.DEALER_ADVANCE_REQUEST),  # E24, dealer loan
        (59, False, True, Stage.DEALER_ADVANCE_REQUEST),
        (60, False, True, Stage.FINAL_DEMAND),  # E11
        (61, True, True, Stage.ENFORCEMENT),  # E12
        (5, True, True, Stage.ENFORCEMENT),  # E10 (cumulative 6)
    ],
)
def test_required_stage(dpd, rule_3_6, has_dealer, expected):
    assert required_stage(days_past_due=dpd, rule_3_6=rule_3_6, has_dealer=has_dealer) == expected


def test_skipped_stages_lists_the_rungs_passed_over():
    assert skipped_stages(from_stage=None, to_stage="second_letter", has_dealer=False) == [
        "phone_reminder",
        "first_letter",
    ]
    assert skipped_stages(from_stage="phone_reminder", to_stage="final_demand", has_dealer=True) == [
        "first_letter",
        "dealer_advance_request",
    ]
    assert skipped_stages(from_stage="first_letter", to_stage="phone_reminder", has_dealer=True) == []


@pytest.mark.django_db
def test_the_sql_ladder_matches_the_python_ladder():
    # given: every combination around the thresholds
    cases = list(
        itertools.product([-1, 0, 1, 2, 14, 15, 16, 29, 30, 31, 59, 60, 61, 400], [False, True], [False, True])
    )
    values = ", ".join(["(%s, %s, %s)"] * len(cases))
    sql = (
        f"SELECT v.dpd, v.r, v.dealer, {required_stage_sql(dpd='v.dpd', rule_3_6='v.r', has_dealer='v.dealer')} "
        f"FROM (VALUES {values}) AS v(dpd, r, dealer)"
    )
    # when
    with connection.cursor() as cursor:
        cursor.execute(sql, [x for case in cases for x in case])
        rows = cursor.fetchall()
    # then
    assert len(rows) == len(cases)
    for dpd, rule, dealer, stage in rows:
        expected = required_stage(days_past_due=dpd, rule_3_6=rule, has_dealer=dealer)
        assert stage == (expected.value if expected else None), (dpd, rule, dealer)
