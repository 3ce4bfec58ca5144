"""Business dates: 'today' in the bank's calendar (TIME_ZONE), never the server's."""

from datetime import date, timedelta

from django.utils import timezone


def business_date() -> date:
    return timezone.localdate()


def yesterday() -> date:
    return business_date() - timedelta(days=1)
