"""Request bodies for the core-banking API: the common fixture of domain-research.md §12."""

from datetime import date
from decimal import Decimal


def add_months(d: date, months: int) -> date:
    from loans.schedules import add_months as _add

    return _add(d, months)


def loan_body(
    branch="BR-A", *, dealer=True, n=12, inst_principal="900.00", interest="100.00", fees="0.00", **overrides
):
    """12 × (900 + 100) due the 15th from 2024-02-15; disbursed 2024-01-15."""
    body = {
        "branch": branch,
        "product": "AUTO",
        "currency": "EUR",
        "principal": str(Decimal(inst_principal) * n),
        "annual_rate": "0.0650",
        "disbursement_date": "2024-01-15",
        "borrower": {
            "external_id": "C-1001",
            "name": "Ana Ruiz",
            "national_id": "X1234567",
            "phone": "+34 600 000 000",
        },
        "collateral": [
            {"kind": "vehicle", "description": "VIN WVW123", "value": "15000.00", "valued_on": "2024-01-05"}
        ],
        "schedule": [
            {
                "number": k,
                "due_date": add_months(date(2024, 1, 15), k).isoformat(),
                "principal": inst_principal,
                "interest": interest,
                "fees": fees,
            }
            for k in range(1, n + 1)
        ],
    }
    if dealer:
        body["dealer"] = {"external_id": "D-7", "name": "Autos Norte"}
    body.update(overrides)
    return body
