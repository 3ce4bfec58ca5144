"""Business dates: 'today' in the bank's calendar (TIME_ZONE), never the server's."""

import time
from datetime import date, datetime, timedelta

from django.utils import timezone

# The business date last worked out, with the bank time zone and the span of the clock
# (time.time()) it covers: hot paths ask for it on every request.
_last: dict[str, object] = {"zone": None, "start": 0.0, "end": 0.0, "day": None}


def business_date() -> date:
    now = time.time()
    zone = timezone.get_current_timezone()
    last = _last
    if last["zone"] is zone and last["start"] <= now < last["end"]:
        return last["day"]
    day = timezone.localdate()
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone).timestamp()
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone).timestamp()
    last.update(zone=zone, start=start, end=end, day=day)
    return day


def yesterday() -> date:
    return business_date() - timedelta(days=1)
