"""The classification panel of the loan page: manual downgrade and approved return from NPL."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans.models import ClassificationOverride, LoanDelinquency
from loans.schedules import add_months
from loans.services.loans import loan_upsert
from loans.services.payments import PaymentRequest, payments_post
from loans.services.sweep import delinquency_sweep
from loans.views import can_approve_reclassification, can_downgrade

pytestmark = pytest.mark.django_db

DETAIL = "/loans/L-1/"
DOWNGRADE = "/loans/L-1/classification/downgrade/"
RECLASSIFY = "/loans/L-1/classification/reclassify/"
MADRID = ZoneInfo("Europe/Madrid")


def _loan(number="L-1", *, acting_user, start=date(2024, 1, 15), n=12):
    """12 × (900 + 100) due the 15th from 2024-02-15, through the real service."""
    lines = [
        {"number": k, "due_date": add_months(start, k), "principal": Decimal("900.00"), "interest": Decimal("100.00")}
        for k in range(1, n + 1)
    ]
    data = {
        "branch": "BR-A", "product": "AUTO", "principal": Decimal("900.00") * n, "disbursement_date": start,
        "borrower": {"external_id": f"B-{number}", "name": "Borrower"}, "schedule": lines,
    }  # fmt: skip
    return loan_upsert(number=number, data=data, acting_user=acting_user)[0]


def _pay(loan, acting_user, external_id, amount, value_date):
    request = PaymentRequest(
        external_id=external_id,
        loan_number=loan.number,
        amount=Decimal(amount),
        value_date=value_date,
        payer="borrower",
    )
    payments_post(requests=[request], acting_user=acting_user)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


@pytest.fixture
def head(org):
    """The credit department head of branch A."""
    return UserFactory(username="helena", role=Role.CREDIT_HEAD, branches=[org["a"]])


@pytest.fixture
def auditor(org):
    return UserFactory(username="audrey", role=Role.AUDITOR)


@pytest.fixture
def loan(admin):
    return _loan(acting_user=admin)


@pytest.fixture
def npl_loan(loan, admin):
    """Substandard on 2024-05-16 (91 days past due), then paid up: at 0 days, still held as NPL."""
    delinquency_sweep(as_of=date(2024, 5, 16))
    _pay(loan, admin, "TX-CURE", "7000.00", date(2024, 5, 16))
    delinquency_sweep(as_of=date(2024, 5, 17))
    state = LoanDelinquency.objects.get(loan=loan)
    assert (state.days_past_due, state.classification, state.npl_hold) == (0, "substandard", True)
    return loan


def _today(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 12, tzinfo=MADRID), tick=False)


# --- who may act -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "downgrade", "approve"),
    [
        (Role.CREDIT_OFFICER, True, False),
        (Role.BRANCH_MANAGER, True, False),
        (Role.CREDIT_HEAD, True, True),
        (Role.RISK, True, True),
        (Role.ADMIN, True, True),
        (Role.AUDITOR, False, False),
        (Role.COLLECTOR, False, False),
    ],
)
def test_permission_helpers(org, role, downgrade, approve):
    user = UserFactory(role=role)
    assert (can_downgrade(user), can_approve_reclassification(user)) == (downgrade, approve)


def test_an_officer_sees_the_downgrade_form_only(client, loan, alice):
    client.force_login(alice)
    response = client.get(DETAIL)
    html = response.content.decode()
    assert (response.context["can_downgrade"], response.context["can_reclassify"]) == (True, False)
    assert 'data-testid="downgrade-form"' in html
    assert 'data-testid="reclassify-form"' not in html
    assert "No manual changes." in html


def test_the_downgrade_form_defaults_to_today(client, loan, alice):
    client.force_login(alice)
    with _today(date(2024, 3, 1)):
        html = client.get(DETAIL).content.decode()
    assert 'name="downgrade-effective_from" value="2024-03-01"' in html
    assert '<option value="normal"' not in html.split('data-testid="downgrade-form"')[1].split("</form>")[0]


def test_an_auditor_sees_the_history_but_no_forms(client, loan, alice, auditor):
    # given
    ClassificationOverride.objects.create(
        loan=loan, kind="downgrade", classification="doubtful", reason="fraud suspicion",
        effective_from=date(2024, 2, 1), requested_by=alice,
    )  # fmt: skip
    client.force_login(auditor)
    # when
    response = client.get(DETAIL)
    # then
    html = response.content.decode()
    assert (response.context["can_downgrade"], response.context["can_reclassify"]) == (False, False)
    assert 'data-testid="downgrade-form"' not in html
    assert 'data-testid="reclassify-form"' not in html
    assert html.count('data-testid="classification-override"') == 1
    assert "fraud suspicion" in html
    assert "Manual downgrade" in html
    assert "Doubtful" in html


def test_the_reclassify_form_is_shown_only_for_a_loan_held_as_npl(client, loan, npl_loan, head):
    client.force_login(head)
    response = client.get(DETAIL)
    assert response.context["can_reclassify"] is True
    assert 'data-testid="reclassify-form"' in response.content.decode()


def test_no_reclassify_form_for_a_performing_loan(client, loan, head):
    delinquency_sweep(as_of=date(2024, 2, 10))
    client.force_login(head)
    response = client.get(DETAIL)
    assert response.context["can_downgrade"] is True
    assert response.context["can_reclassify"] is False
    assert 'data-testid="reclassify-form"' not in response.content.decode()


# --- downgrade ---------------------------------------------------------------------------------


def test_a_downgrade_with_a_reason_is_recorded(client, loan, alice):
    # given
    client.force_login(alice)
    # when
    response = client.post(
        DOWNGRADE,
        {
            "downgrade-classification": "doubtful",
            "downgrade-reason": "Fraud suspicion",
            "downgrade-effective_from": "2024-02-01",
        },
        follow=True,
    )
    # then
    assert response.redirect_chain == [(DETAIL, 302)]
    override = ClassificationOverride.objects.get(loan=loan)
    assert (override.kind, override.classification, override.reason, override.effective_from, override.requested_by) == (
        "downgrade", "doubtful", "Fraud suspicion", date(2024, 2, 1), alice,
    )  # fmt: skip
    assert _messages(response) == ["Downgrade to Doubtful from 2024-02-01 recorded; the next sweep applies it."]
    html = response.content.decode()
    assert 'class="alert alert-success"' in html
    assert html.count('data-testid="classification-override"') == 1
    assert "Fraud suspicion" in html


def test_the_next_sweep_applies_the_downgrade(client, loan, alice):
    client.force_login(alice)
    client.post(
        DOWNGRADE,
        {
            "downgrade-classification": "loss",
            "downgrade-reason": "Borrower deceased",
            "downgrade-effective_from": "2024-02-01",
        },
    )
    delinquency_sweep(as_of=date(2024, 2, 10))
    assert LoanDelinquency.objects.get(loan=loan).classification == "loss"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"downgrade-classification": "doubtful", "downgrade-effective_from": "2024-02-01"},
            "Reason: This field is required.",
        ),
        (
            {
                "downgrade-classification": "doubtful",
                "downgrade-reason": "   ",
                "downgrade-effective_from": "2024-02-01",
            },
            "Reason: This field is required.",
        ),
        (
            {"downgrade-classification": "normal", "downgrade-reason": "x", "downgrade-effective_from": "2024-02-01"},
            "Classification: Select a valid choice. normal is not one of the available choices.",
        ),
        (
            {"downgrade-classification": "doubtful", "downgrade-reason": "x", "downgrade-effective_from": "01/02/2024"},
            "Effective from: Enter a valid date.",
        ),
    ],
)
def test_a_downgrade_without_a_reason_or_with_bad_input_is_refused(client, loan, alice, data, message):
    client.force_login(alice)
    response = client.post(DOWNGRADE, data, follow=True)
    assert response.redirect_chain == [(DETAIL, 302)]
    assert message in _messages(response)
    assert 'class="alert alert-danger"' in response.content.decode()
    assert not ClassificationOverride.objects.exists()


def test_the_service_refusal_is_shown_as_a_message(client, loan, alice, monkeypatch):
    # given: the service refuses for a reason of its own
    from loanops.core.exceptions import ValidationFailed

    def refuse(**kwargs):
        raise ValidationFailed(
            "Invalid downgrade.", extra={"reason": ["A reason is required for every manual change."]}
        )

    monkeypatch.setattr("loans.views.loan_classification_downgrade", refuse)
    client.force_login(alice)
    # when
    response = client.post(
        DOWNGRADE,
        {"downgrade-classification": "doubtful", "downgrade-reason": "x", "downgrade-effective_from": "2024-02-01"},
        follow=True,
    )
    # then
    assert _messages(response) == ["Reason: A reason is required for every manual change."]


# --- reclassification --------------------------------------------------------------------------


def test_a_reclassification_of_a_performing_loan_is_refused(client, loan, head):
    # given: swept, normal
    delinquency_sweep(as_of=date(2024, 2, 10))
    client.force_login(head)
    # when
    response = client.post(RECLASSIFY, {"reclassify-reason": "Cured"}, follow=True)
    # then
    assert response.redirect_chain == [(DETAIL, 302)]
    assert _messages(response) == ["Classification: The loan is not held as non-performing."]
    assert "The loan is not held as non-performing." in response.content.decode()
    assert not ClassificationOverride.objects.exists()


def test_a_reclassification_before_three_clean_months_is_refused(client, npl_loan, head):
    client.force_login(head)
    with _today(date(2024, 6, 1)):
        response = client.post(RECLASSIFY, {"reclassify-reason": "Cured"}, follow=True)
    assert len(_messages(response)) == 1
    assert "3 clean months are needed" in _messages(response)[0]
    assert not ClassificationOverride.objects.exists()


def test_a_reclassification_needs_a_reason(client, npl_loan, head):
    client.force_login(head)
    with _today(date(2024, 8, 17)):
        response = client.post(RECLASSIFY, {"reclassify-reason": ""}, follow=True)
    assert _messages(response) == ["Reason: This field is required."]
    assert not ClassificationOverride.objects.exists()


def test_an_approved_return_to_performing(client, npl_loan, head, alice):
    # given: a standing downgrade, and three clean months since 2024-05-16
    ClassificationOverride.objects.create(
        loan=npl_loan, kind="downgrade", classification="doubtful", reason="Doubts",
        effective_from=date(2024, 5, 1), requested_by=alice,
    )  # fmt: skip
    client.force_login(head)
    # when
    with _today(date(2024, 8, 17)):
        response = client.post(RECLASSIFY, {"reclassify-reason": "Three clean months"}, follow=True)
    # then
    assert response.redirect_chain == [(DETAIL, 302)]
    assert _messages(response) == ["Return to performing approved; the next sweep applies it."]
    approval = ClassificationOverride.objects.get(kind="reclassification")
    assert (approval.classification, approval.reason, approval.effective_from, approval.approved_by) == (
        "normal", "Three clean months", date(2024, 8, 17), head,
    )  # fmt: skip
    assert ClassificationOverride.objects.get(kind="downgrade").cleared_on == date(2024, 8, 17)
    html = response.content.decode()
    assert html.count('data-testid="classification-override"') == 2
    assert "Approved return to performing" in html
    # and the next sweep returns the loan to normal
    delinquency_sweep(as_of=date(2024, 8, 17))
    state = LoanDelinquency.objects.get(loan=npl_loan)
    assert (state.classification, state.npl_hold) == ("normal", False)


# --- auth --------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [DOWNGRADE, RECLASSIFY])
def test_an_auditor_gets_403(client, npl_loan, auditor, url):
    client.force_login(auditor)
    data = {"downgrade-classification": "doubtful", "downgrade-reason": "x", "downgrade-effective_from": "2024-02-01",
            "reclassify-reason": "x"}  # fmt: skip
    assert client.post(url, data).status_code == 403
    assert not ClassificationOverride.objects.exists()


def test_an_officer_cannot_approve_a_reclassification(client, npl_loan, alice):
    client.force_login(alice)
    assert client.post(RECLASSIFY, {"reclassify-reason": "x"}).status_code == 403


@pytest.mark.parametrize("url", [DOWNGRADE, RECLASSIFY])
def test_another_branch_gets_404(client, loan, charlie, url):
    client.force_login(charlie)
    data = {"downgrade-classification": "doubtful", "downgrade-reason": "x", "downgrade-effective_from": "2024-02-01"}
    assert client.post(url, data).status_code == 404
    assert not ClassificationOverride.objects.exists()


@pytest.mark.parametrize("url", [DOWNGRADE, RECLASSIFY])
def test_an_unknown_loan_is_404(client, loan, admin, url):
    client.force_login(admin)
    assert client.post(url.replace("L-1", "NOPE"), {}).status_code == 404


@pytest.mark.parametrize("url", [DOWNGRADE, RECLASSIFY])
def test_it_only_allows_post(client, loan, alice, url):
    client.force_login(alice)
    assert client.get(url).status_code == 405


@pytest.mark.parametrize("url", [DOWNGRADE, RECLASSIFY])
def test_anonymous_users_are_sent_to_login(client, loan, url):
    response = client.post(url, {})
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


def test_the_detail_page_stays_within_its_query_budget(client, npl_loan, alice, head, django_assert_max_num_queries):
    ClassificationOverride.objects.create(
        loan=npl_loan, kind="downgrade", classification="doubtful", reason="Doubts",
        effective_from=date(2024, 5, 1), requested_by=alice,
    )  # fmt: skip
    client.force_login(head)
    with django_assert_max_num_queries(
        24
    ):  # the loan's own reads + one or two per app panel (case, file, inspections, NPL banner)
        response = client.get(DETAIL)
    assert response.status_code == 200
