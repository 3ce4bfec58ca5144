import re
from datetime import date
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loanops.core.api.fields import IsoDateField, MoneyField, RateField
from loans.models import Bucket, Classification, Loan, Payer
from loans.schedules import AMORTIZATIONS, MAX_TERM_MONTHS


class PartySerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)


class BorrowerSerializer(PartySerializer):
    national_id = serializers.CharField(max_length=40, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    address = serializers.CharField(required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=["es", "en"], required=False)


class GuarantorSerializer(PartySerializer):
    national_id = serializers.CharField(max_length=40, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)


class InsurerSerializer(PartySerializer):
    policy_number = serializers.CharField(max_length=64, required=False, allow_blank=True)


class CollateralSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=40)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    value = MoneyField()
    valued_on = IsoDateField(required=False, allow_null=True)


class ScheduleLineSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1, max_value=10_000)
    due_date = IsoDateField()
    principal = MoneyField()
    interest = MoneyField()
    fees = MoneyField(required=False)


class LoanInputSerializer(serializers.Serializer):
    branch = serializers.CharField(max_length=20)
    product = serializers.CharField(max_length=20, required=False, allow_blank=True, allow_null=True)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, allow_null=True)
    principal = MoneyField(positive=True)
    annual_rate = RateField(required=False, allow_null=True)
    disbursement_date = IsoDateField()
    officer = serializers.CharField(max_length=150, required=False, allow_blank=True, allow_null=True)
    borrower = BorrowerSerializer()
    dealer = PartySerializer(required=False, allow_null=True)
    insurer = InsurerSerializer(required=False, allow_null=True)
    guarantors = GuarantorSerializer(many=True, required=False)
    collateral = CollateralSerializer(many=True, required=False)
    schedule = ScheduleLineSerializer(many=True, required=False, allow_empty=True)
    term_months = serializers.IntegerField(min_value=1, max_value=MAX_TERM_MONTHS, required=False, allow_null=True)
    amortization = serializers.ChoiceField(choices=AMORTIZATIONS, required=False, allow_null=True)


class DelinquencySerializer(serializers.Serializer):
    as_of = IsoDateField()
    days_past_due = serializers.IntegerField()
    overdue_installments = serializers.IntegerField()
    cumulative_missed_installments = serializers.IntegerField()
    max_consecutive_missed = serializers.IntegerField()
    overdue_principal = MoneyField()
    overdue_interest = MoneyField()
    overdue_fees = MoneyField()
    overdue_amount = MoneyField()
    outstanding_principal = MoneyField()
    suspense_balance = MoneyField()
    bucket = serializers.ChoiceField(choices=Bucket.choices)
    classification = serializers.ChoiceField(choices=Classification.choices)
    classification_floor = serializers.ChoiceField(choices=Classification.choices)
    ifrs9_stage = serializers.IntegerField()
    is_npl = serializers.BooleanField()
    rule_3_6 = serializers.BooleanField()


class StoredDelinquencySerializer(DelinquencySerializer):
    collection_stage = serializers.CharField(allow_null=True)
    parameter_version = serializers.IntegerField(source="parameter_set_id", allow_null=True)


class InstallmentOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    due_date = IsoDateField()
    principal = MoneyField()
    interest = MoneyField()
    fees = MoneyField()
    total = MoneyField()
    paid_principal = MoneyField()
    paid_interest = MoneyField()
    paid_fees = MoneyField()
    paid_total = MoneyField()
    remaining = MoneyField()
    settled = serializers.BooleanField()
    paid_on = IsoDateField(allow_null=True)
    missed = serializers.BooleanField(allow_null=True)


class PartyOutputSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    name = serializers.CharField()


class LoanSummarySerializer(serializers.Serializer):
    loan_number = serializers.CharField(source="number")
    branch = serializers.CharField(source="branch.code")
    product = serializers.CharField(source="product.code")
    currency = serializers.CharField()
    principal = MoneyField()
    annual_rate = serializers.DecimalField(max_digits=9, decimal_places=6)
    disbursement_date = IsoDateField()
    officer = serializers.CharField(source="officer.username", allow_null=True, default=None)
    status = serializers.ChoiceField(choices=Loan.Status.choices)
    closed_on = IsoDateField(allow_null=True)
    borrower = PartyOutputSerializer()
    dealer = PartyOutputSerializer(allow_null=True)
    delinquency = serializers.SerializerMethodField()

    @extend_schema_field(StoredDelinquencySerializer(allow_null=True))
    def get_delinquency(self, loan) -> dict | None:
        state = getattr(loan, "delinquency", None)
        if state is None:
            return None
        state.collection_stage = self.context.get("stages", {}).get(loan.id)
        return StoredDelinquencySerializer(state).data


class PaymentInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100)
    loan_number = serializers.CharField(max_length=64)
    amount = MoneyField(positive=True)
    value_date = IsoDateField()
    payer = serializers.ChoiceField(choices=Payer.choices, required=False, default=Payer.BORROWER)


_ITEM_KEYS = frozenset({"external_id", "loan_number", "amount", "value_date", "payer"})
_PAYERS = frozenset(Payer.values)
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,13}\.[0-9]{2}")
_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _plain_text(value, max_length: int) -> bool:
    return (
        type(value) is str and 0 < len(value) <= max_length and value.isascii() and value.isprintable()
        and value == value.strip()
    )  # fmt: skip


def payment_input_plain(item) -> dict | None:
    """`PaymentInputSerializer`'s validated data for the common, plainly well-formed payment
    (ASCII ids, an amount like "540.00", a date like "2026-10-31"), without DRF's per-field
    machinery, which costs more than posting the payment. None for anything else: the caller
    then runs the serializer, which accepts it or says what is wrong. A test checks that both
    agree."""
    if type(item) is not dict or not item.keys() <= _ITEM_KEYS:
        return None
    external_id, loan_number = item.get("external_id"), item.get("loan_number")
    amount, value_date = item.get("amount"), item.get("value_date")
    payer = item.get("payer", Payer.BORROWER)
    if not (_plain_text(external_id, 100) and _plain_text(loan_number, 64) and payer in _PAYERS):
        return None
    if type(amount) is not str or not _PLAIN_AMOUNT.fullmatch(amount):
        return None
    if type(value_date) is not str or not _PLAIN_DATE.fullmatch(value_date):
        return None
    money = Decimal(amount)
    if money <= 0:
        return None
    try:
        day = date.fromisoformat(value_date)
    except ValueError:
        return None
    return {"external_id": external_id, "loan_number": loan_number, "amount": money, "value_date": day,
            "payer": str(payer)}  # fmt: skip


class PaymentBulkInputSerializer(serializers.Serializer):
    payments = serializers.ListField(child=serializers.JSONField(), max_length=1000, allow_empty=False)


class PaymentReverseInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
