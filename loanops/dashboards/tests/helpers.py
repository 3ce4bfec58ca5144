"""Test data for the dashboards: loans and their daily snapshots written directly (the sweep has
its own tests; here the input of the aggregate step is what matters)."""

from datetime import date
from decimal import Decimal
from itertools import count

from loans.models import Borrower, Bucket, DelinquencySnapshot, Loan, LoanDelinquency, Product

_numbers = count(1)


def bucket_for(dpd: int) -> str:
    for limit, bucket in ((0, Bucket.CURRENT), (30, Bucket.B1_30), (60, Bucket.B31_60), (90, Bucket.B61_90),
                          (180, Bucket.B91_180), (270, Bucket.B181_270), (360, Bucket.B271_360)):  # fmt: skip
        if dpd <= limit:
            return bucket
    return Bucket.B361


def class_for(dpd: int) -> str:
    if dpd == 0:
        return "normal"
    if dpd <= 90:
        return "special_mention"
    if dpd <= 270:
        return "substandard"
    if dpd <= 360:
        return "doubtful"
    return "loss"


def make_loan(*, branch, principal="1000.00", disbursed=date(2024, 1, 15), officer=None, dealer=None,
              status=Loan.Status.ACTIVE, closed_on=None) -> Loan:  # fmt: skip
    n = next(_numbers)
    borrower = Borrower.objects.create(external_id=f"DB-{n}", name=f"Borrower {n}")
    return Loan.objects.create(
        number=f"DASH-{n:05d}", branch=branch, product=Product.objects.get(code="AUTO"), principal=Decimal(principal),
        disbursement_date=disbursed, borrower=borrower, officer=officer, dealer=dealer, status=status,
        closed_on=closed_on,
    )  # fmt: skip


def snapshot(loan: Loan, as_of: date, *, outstanding, dpd: int = 0, classification: str | None = None,
             overdue="0.00", rule_3_6: bool = False, current: bool = False) -> DelinquencySnapshot:  # fmt: skip
    """A snapshot row; CURRENT: also the loan's current state (what the loan list filters on)."""
    cls = classification or class_for(dpd)
    if current:
        LoanDelinquency.objects.update_or_create(loan=loan, defaults={
            "as_of": as_of, "days_past_due": dpd, "outstanding_principal": Decimal(outstanding),
            "bucket": bucket_for(dpd), "classification_floor": class_for(dpd), "classification": cls,
            "is_npl": cls in ("substandard", "doubtful", "loss"), "rule_3_6": rule_3_6,
        })  # fmt: skip
    return DelinquencySnapshot.objects.create(
        loan=loan, as_of=as_of, branch_id=loan.branch_id, product_id=loan.product_id, dealer_id=loan.dealer_id,
        officer_id=loan.officer_id, days_past_due=dpd, outstanding_principal=Decimal(outstanding),
        overdue_amount=Decimal(overdue), overdue_principal=Decimal(overdue), bucket=bucket_for(dpd),
        classification_floor=class_for(dpd), classification=cls, is_npl=cls in ("substandard", "doubtful", "loss"),
        rule_3_6=rule_3_6,
    )  # fmt: skip
