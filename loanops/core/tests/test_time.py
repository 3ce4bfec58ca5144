"""business_date: the bank's date, kept while the clock stays within that day."""

from datetime import UTC, date, datetime

import time_machine
from django.test import override_settings
from django.utils import timezone

from loanops.core.time import business_date, yesterday


def test_it_follows_the_clock_across_midnight_in_the_bank_s_time_zone():
    with override_settings(TIME_ZONE="Europe/Madrid"):
        # 22:59:59 UTC in winter is 23:59:59 in Madrid; a second later the bank's day turns.
        with time_machine.travel(datetime(2024, 1, 31, 22, 59, 59, tzinfo=UTC), tick=False):
            assert business_date() == date(2024, 1, 31)
            assert business_date() == date(2024, 1, 31)  # kept
        with time_machine.travel(datetime(2024, 1, 31, 23, 0, 0, tzinfo=UTC), tick=False):
            assert business_date() == date(2024, 2, 1)
            assert yesterday() == date(2024, 1, 31)
        with time_machine.travel(datetime(2024, 1, 31, 12, 0, tzinfo=UTC), tick=False):
            assert business_date() == date(2024, 1, 31)  # back again


def test_a_daylight_saving_day_ends_at_its_own_midnight():
    with override_settings(TIME_ZONE="Europe/Madrid"):
        # 2024-03-31 has 23 hours in Madrid: it ends at 22:00 UTC.
        with time_machine.travel(datetime(2024, 3, 31, 21, 59, 59, tzinfo=UTC), tick=False):
            assert business_date() == date(2024, 3, 31)
        with time_machine.travel(datetime(2024, 3, 31, 22, 0, 0, tzinfo=UTC), tick=False):
            assert business_date() == date(2024, 4, 1)


def test_another_time_zone_gives_its_own_date():
    with time_machine.travel(datetime(2024, 6, 1, 23, 30, tzinfo=UTC), tick=False):
        with override_settings(TIME_ZONE="Europe/Madrid"):
            assert business_date() == date(2024, 6, 2)
        with override_settings(TIME_ZONE="America/Bogota"):
            assert business_date() == date(2024, 6, 1)
        with timezone.override("Asia/Shanghai"):
            assert business_date() == date(2024, 6, 2)
