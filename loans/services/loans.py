"""Creating and replacing loans from core banking."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from loanops.core.exceptions import NotFound, ValidationFailed
from loanops.org.models import Branch
from loanops.org.scoping import can_see_branch
from loans import schedules
from loans.locks import loan_lock
from loans.models import Borrower, Collateral, Dealer, Guarantor, Installment, InsurancePolicy, Insurer, Loan, Product
from loans.services.ledger import loan_replay


def _schedule_lines(data: dict) -> list[schedules.ScheduleLine]:
    if data.get("schedule"):
        return [
            schedules.ScheduleLine(
                number=line["number"],
                due_date=line["due_date"],
                principal=line["principal"],
                interest=line["interest"],
                fees=line.get("fees", Decimal("0.00")),
            )
            for line in data["schedule"]
        ]
    missing = [f for f in ("term_months", "amortization") if data.get(f) in (None, "")]
    if missing:
        raise ValidationFailed(
            "A schedule is required.",
            extra={
                "schedule": [_("Send a non-empty schedule, or term_months and amortization to generate one.")],
                **{f: [_("This field is required when no schedule is sent.")] for f in missing},
            },
        )
    try:
        return schedules.generate_schedule(
            principal=data["principal"],
            annual_rate=data.get("annual_rate") or Decimal("0"),
            term_months=data["term_months"],
            disbursement_date=data["disbursement_date"],
            amortization=data["amortization"],
        )
    except ValueError as exc:
        raise ValidationFailed(_("Cannot generate a schedule."), extra={"schedule": [str(exc)]}) from exc


def _resolve_references(data: dict, user) -> dict:
    errors: dict[str, list[str]] = {}
    branch = Branch.objects.filter(code=data["branch"]).first()
    if branch is None or not can_see_branch(user, branch):
        errors["branch"] = [f"Unknown branch {data['branch']!r}."]
    product_code = data.get("product") or settings.LOANOPS_DEFAULT_PRODUCT
    product = Product.objects.filter(code=product_code, is_active=True).first()
    if product is None:
        errors["product"] = [f"Unknown product {product_code!r}."]
    officer = None
    if data.get("officer"):
        officer = get_user_model().objects.filter(username=data["officer"], is_active=True).first()
        if officer is None:
            errors["officer"] = [f"Unknown officer {data['officer']!r}."]
    if errors:
        raise ValidationFailed(_("Invalid references."), extra=errors)
    return {"branch": branch, "product": product, "officer": officer}


def _upsert_party(model, payload: dict | None, fields: tuple[str, ...]):
    if not payload:
        return None
    obj, _created = model.objects.update_or_create(
        external_id=payload["external_id"], defaults={f: payload.get(f, "") or "" for f in fields if f in payload}
    )
    return obj


@transaction.atomic
def loan_upsert(*, number: str, data: dict, acting_user) -> tuple[Loan, bool]:
    """Create the loan NUMBER or replace it whole (schedule included) and replay its payments."""
    refs = _resolve_references(data, acting_user)
    lines = _schedule_lines(data)
    errors = schedules.validate_schedule(
        principal=data["principal"], disbursement_date=data["disbursement_date"], lines=lines
    )
    if errors:
        raise ValidationFailed(_("Invalid schedule."), extra=errors)

    existing = Loan.objects.select_related("branch").filter(number=number).first()
    if existing and not can_see_branch(acting_user, existing.branch):
        raise NotFound(_("Loan not found."))
    loan = loan_lock(existing.id) if existing else Loan(number=number)
    created = existing is None
    if not created and loan.payments.filter(value_date__lt=data["disbursement_date"]).exists():
        raise ValidationFailed(
            "Payments precede the disbursement.",
            extra={"disbursement_date": [_("The loan has payments value-dated before this disbursement date.")]},
        )

    borrower = _upsert_party(
        Borrower, data["borrower"], ("name", "national_id", "phone", "email", "address", "language")
    )
    dealer = _upsert_party(Dealer, data.get("dealer"), ("name",))
    insurer_data = data.get("insurer")
    insurer = _upsert_party(Insurer, insurer_data, ("name",))
    policy = None
    if insurer and insurer_data.get("policy_number"):
        policy, _created = InsurancePolicy.objects.get_or_create(insurer=insurer, number=insurer_data["policy_number"])

    loan.branch, loan.product, loan.officer = refs["branch"], refs["product"], refs["officer"]
    loan.currency = data.get("currency") or settings.LOANOPS_DEFAULT_CURRENCY
    loan.principal = data["principal"]
    loan.annual_rate = data.get("annual_rate") or Decimal("0")
    loan.disbursement_date = data["disbursement_date"]
    loan.term_months = data.get("term_months") if not data.get("schedule") else len(lines)
    loan.amortization = "" if data.get("schedule") else data.get("amortization", "")
    loan.borrower, loan.dealer, loan.insurer, loan.insurance_policy = borrower, dealer, insurer, policy
    loan.save()

    loan.guarantors.set(
        [_upsert_party(Guarantor, g, ("name", "national_id", "phone")) for g in data.get("guarantors") or []]
    )
    loan.collateral.all().delete()
    Collateral.objects.bulk_create(
        [
            Collateral(
                loan=loan,
                kind=c["kind"],
                description=c.get("description", ""),
                value=c["value"],
                valued_on=c.get("valued_on"),
            )
            for c in data.get("collateral") or []
        ]
    )
    _replace_schedule(loan, lines)
    loan_replay(loan=loan)
    loan.refresh_from_db()
    return loan, created


def _replace_schedule(loan: Loan, lines: list[schedules.ScheduleLine]) -> None:
    current = list(
        Installment.objects.filter(loan=loan)
        .order_by("number")
        .values_list("number", "due_date", "principal", "interest", "fees")
    )
    wanted = [(x.number, x.due_date, x.principal, x.interest, x.fees) for x in sorted(lines, key=lambda x: x.number)]
    if current == wanted:
        return
    Installment.objects.filter(loan=loan).delete()  # the ledger is rebuilt by the replay that follows
    Installment.objects.bulk_create(
        [Installment(loan=loan, number=n, due_date=d, principal=p, interest=i, fees=f) for n, d, p, i, f in wanted]
    )
