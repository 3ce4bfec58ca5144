"""The real chain: loans through the API, the nightly sweep, then `dashboards.aggregates`."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from loanops.core.nightly import run_nightly
from loanops.dashboards.models import AggregateDay
from loanops.dashboards.selectors import Scope, quality_on, roll_matrix
from loans.tests.fixtures import loan_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def loans(api):
    for number, branch, external in (("N-A", "BR-A", "C-1"), ("N-B", "BR-B", "C-2")):
        body = loan_body(branch, borrower={"external_id": external, "name": external, "national_id": external})
        assert api.put(f"/api/v1/loans/{number}", body, format="json").status_code == 201
    body = {"external_id": "P-1", "loan_number": "N-A", "amount": "1000.00", "value_date": "2024-02-15"}
    assert api.post("/api/v1/payments", body, format="json").status_code == 201


def test_the_nightly_chain_fills_the_aggregates(loans):
    run_nightly(as_of=date(2024, 2, 29))
    results = dict(run_nightly(as_of=date(2024, 3, 31)))
    assert results["dashboards.aggregates"] > 0
    assert dict(run_nightly(as_of=date(2024, 3, 31)))["dashboards.aggregates"] == 0

    everything = Scope(branch_ids=None)
    march = quality_on(everything, date(2024, 3, 31))
    # E-fixture loans: A paid #1 only (DPD 16 on 03-31), B nothing (DPD 45)
    assert march.loans == 2
    assert march.principal == Decimal("20700.00")  # 9,900 + 10,800
    assert march.par30 == percent_of("10800.00", "20700.00")
    assert march.par0 == Decimal("100.00")
    matrix = roll_matrix(everything, date(2024, 3, 31))
    assert matrix.from_as_of == date(2024, 2, 29)
    assert matrix.rate("1-30", "31-60") == percent_of("10800.00", "10800.00")
    assert AggregateDay.objects.count() == 2


def test_backfill_command(loans, capsys):
    from loans.services.sweep import delinquency_sweep

    for day in (date(2024, 2, 20), date(2024, 3, 10)):
        delinquency_sweep(as_of=day)
    call_command("dashboards_backfill", "--from", "2024-02-01", "--to", "2024-03-31")
    assert "dates=2" in capsys.readouterr().out
    assert list(AggregateDay.objects.order_by("as_of").values_list("as_of", flat=True)) == [
        date(2024, 2, 20),
        date(2024, 3, 10),
    ]
    call_command("dashboards_backfill", "--from", "2024-02-01", "--to", "2024-03-31")
    assert "rows_changed=0" in capsys.readouterr().out


def percent_of(part: str, whole: str) -> Decimal:
    from loanops.dashboards.selectors import percent

    return percent(Decimal(part), Decimal(whole))
