"""Every new loan gets its credit file, whatever path created it (API, import, admin, shell)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from loans.models import Loan


@receiver(post_save, sender=Loan, dispatch_uid="archives.open_credit_file")
def open_credit_file(sender, instance: Loan, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        from archives.services.files import credit_file_open

        credit_file_open(loan=instance)
