"""The default auto-loan checklist (domain-research.md §8.1–8.2). Plain data: the data migration
0002 installs it, and tests that flush the database put it back with `install_default_checklist`."""

from django.utils.translation import gettext_noop

# Each row: code, name, level and whether it is required. Names are marked for translation
# extraction (gettext_noop); the stored name is the English text.
DEFAULT_CHECKLIST = (
    ("contract", gettext_noop("Loan contract"), 2, True),
    ("repayment_schedule", gettext_noop("Repayment schedule"), 2, True),
    ("borrower_id", gettext_noop("Borrower identity document"), 2, True),
    ("income_proof", gettext_noop("Proof of income"), 2, True),
    ("purchase_invoice", gettext_noop("Vehicle purchase contract / invoice"), 2, True),
    ("down_payment_proof", gettext_noop("Proof of down payment"), 2, True),
    ("insurance_policy", gettext_noop("Insurance policy (bank as first beneficiary)"), 2, True),
    ("vehicle_registration", gettext_noop("Vehicle registration certificate with the mortgage entry"), 1, True),
    ("mortgage_registration", gettext_noop("Mortgage / pledge registration"), 1, True),
    ("dealer_guarantee", gettext_noop("Dealer guarantee"), 2, False),
    ("disbursement_voucher", gettext_noop("Disbursement voucher"), 2, True),
)


def install_default_checklist(checklist_item_model) -> int:
    """Create the missing default items (idempotent); returns how many were created."""
    created = 0
    for order, (code, name, level, required) in enumerate(DEFAULT_CHECKLIST, start=1):
        _item, was_created = checklist_item_model.objects.get_or_create(
            product=None, code=code, defaults={"name": name, "level": level, "required": required, "order": order}
        )
        created += was_created
    return created
