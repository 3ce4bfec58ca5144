"""Reference rows every installation has (also installed by migration 0002): the default product
and the default parameter version. Tests that flush the database put them back with this."""

from datetime import date

from django.conf import settings

from loans.models import ParameterSet, Product


def ensure_reference_data() -> None:
    Product.objects.get_or_create(code=settings.LOANOPS_DEFAULT_PRODUCT, defaults={"name": "Auto loan"})
    ParameterSet.objects.get_or_create(
        product=None, valid_from=date(1900, 1, 1), defaults={"note": "domain.md defaults"}
    )
