"""Manual classification changes: a downgrade (reason required) and the approved return from NPL.

Both act on the effective class the nightly sweep stores; both bump the loan's ledger version so
a rerun of the sweep for a date already swept picks them up.
"""

from datetime import date

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from loanops.core.exceptions import PermissionDenied, ValidationFailed
from loanops.org.models import Role
from loans.locks import loan_lock
from loans.models import CLASS_RANK, NPL_CLASSES, Classification, ClassificationOverride, Loan, LoanDelinquency

APPROVER_ROLES = frozenset({Role.CREDIT_HEAD, Role.RISK, Role.ADMIN})
NPL_PROBATION_MONTHS = 3


def _bump(loan: Loan) -> None:
    Loan.objects.filter(id=loan.id).update(ledger_version=F("ledger_version") + 1)


@transaction.atomic
def loan_classification_downgrade(
    *, loan: Loan, classification: str, reason: str, effective_from: date, acting_user
) -> ClassificationOverride:
    if acting_user.is_read_only:
        raise PermissionDenied(_("Read-only users cannot change a classification."))
    errors = {}
    if classification not in CLASS_RANK or classification == Classification.NORMAL:
        errors["classification"] = [_("Choose special mention, substandard, doubtful or loss.")]
    if not reason.strip():
        errors["reason"] = [_("A reason is required for every manual change.")]
    if errors:
        raise ValidationFailed(_("Invalid downgrade."), extra=errors)
    loan_lock(loan.id)
    override = ClassificationOverride.objects.create(
        loan=loan, kind=ClassificationOverride.Kind.DOWNGRADE, classification=classification, reason=reason.strip(),
        effective_from=effective_from, requested_by=acting_user,
    )  # fmt: skip
    _bump(loan)
    return override


@transaction.atomic
def loan_reclassification_approve(*, loan: Loan, reason: str, on: date, acting_user) -> ClassificationOverride:
    """Approve the return of an NPL loan to performing: only after 3 months at 0 days past due."""
    if not (acting_user.is_superuser or acting_user.role in APPROVER_ROLES):
        raise PermissionDenied(_("Only the credit department head or head-office risk approves a reclassification."))
    loan_lock(loan.id)
    state = LoanDelinquency.objects.filter(loan=loan).first()
    errors = {}
    if not reason.strip():
        errors["reason"] = [_("A reason is required for every manual change.")]
    if state is None or not (state.npl_hold or state.classification in NPL_CLASSES):
        errors["classification"] = [_("The loan is not held as non-performing.")]
    elif state.days_past_due != 0 or state.dpd_zero_since is None:
        errors["classification"] = [_("The loan is still past due.")]
    elif state.dpd_zero_since > on - relativedelta(months=NPL_PROBATION_MONTHS):
        errors["classification"] = [
            f"The loan has been current only since {state.dpd_zero_since}; "
            f"{NPL_PROBATION_MONTHS} clean months are needed."
        ]
    if errors:
        raise ValidationFailed(_("Reclassification not allowed."), extra=errors)
    # Any standing manual downgrade ends with the approval.
    ClassificationOverride.objects.filter(
        loan=loan, kind=ClassificationOverride.Kind.DOWNGRADE, cleared_on__isnull=True
    ).update(cleared_on=on)
    override = ClassificationOverride.objects.create(
        loan=loan, kind=ClassificationOverride.Kind.RECLASSIFICATION, classification=Classification.NORMAL,
        reason=reason.strip(), effective_from=on, requested_by=acting_user, approved_by=acting_user,
    )  # fmt: skip
    _bump(loan)
    return override
