"""Rate limits: sliding-window counters, the same decisions on the local-memory cache (tests)
and on Redis (every other setting), a refused request not counted, and 429 from the API."""

import uuid

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.urls import reverse
from redis.connection import Connection
from rest_framework.test import APIClient

from loanops.core.api import throttling
from loanops.core.api.throttling import ClientThrottle, LoginThrottle

DURATION = 60


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class _User:
    is_authenticated = True

    def __init__(self, pk: int) -> None:
        self.id = pk


class _Request:
    def __init__(self, user) -> None:
        self.user = user
        self.META = {"REMOTE_ADDR": "10.0.0.1"}


def _throttle(cache, clock, rate="5/min"):
    class Throttle(ClientThrottle):
        def get_rate(self):
            return rate

        timer = clock

    throttle = Throttle()
    if cache is not None:
        type(throttle).cache = property(lambda self: cache)
    return throttle


@pytest.fixture(autouse=True)
def _fresh_tallies(monkeypatch):
    monkeypatch.setattr(throttling, "_tallies", {})


@pytest.fixture(params=["locmem", "redis"])
def backing(request, settings):
    """None: the configured (local-memory) cache; else a RedisCache on the local server."""
    if request.param == "locmem":
        yield None
        return
    cache = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}"})
    try:
        cache.get("ping")
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Redis is not answering at {settings.REDIS_URL}: {exc}")
    yield cache
    cache.clear()


def _allowed(backing, clock, user=1, rate="5/min") -> bool:
    return _throttle(backing, clock, rate).allow_request(_Request(_User(user)), None)


def test_a_window_lets_the_rate_through_and_refuses_the_next(backing):
    clock = _Clock(1_000 * DURATION)  # the start of a window
    assert [_allowed(backing, clock) for _ in range(6)] == [True] * 5 + [False]
    assert _allowed(backing, clock, user=2), "each client has its own counter"


def test_refused_requests_do_not_count(backing):
    clock = _Clock(1_000 * DURATION)
    for _ in range(5):
        assert _allowed(backing, clock)
    for _ in range(50):
        assert not _allowed(backing, clock)
    # Next window, half-way: the previous window's 5 hits weigh 2.5, so 2 more fit (4.5), not 3.
    clock.now += 1.5 * DURATION
    assert [_allowed(backing, clock) for _ in range(3)] == [True, True, False]


def test_the_previous_window_fades_out(backing):
    clock = _Clock(1_000 * DURATION + 59)
    for _ in range(5):
        assert _allowed(backing, clock)
    clock.now = 1_001 * DURATION + 1  # 1 s into the next window: 5 × 59/60 still weighs 4.9
    assert not _allowed(backing, clock)
    clock.now = 1_001 * DURATION + 15  # 5 × 45/60 = 3.75: one more fits
    assert _allowed(backing, clock)
    clock.now = 1_003 * DURATION + 59  # the previous window (1,002) is empty
    assert [_allowed(backing, clock) for _ in range(6)] == [True] * 5 + [False]


def test_wait_says_when_the_next_request_would_pass(backing):
    clock = _Clock(1_000 * DURATION)
    for _ in range(5):
        _allowed(backing, clock)
    clock.now = 1_001 * DURATION  # the next window: the previous 5 hits still weigh 5
    throttle = _throttle(backing, clock)
    assert not throttle.allow_request(_Request(_User(1)), None)
    assert throttle.wait() == pytest.approx(12.0)  # at 12 s they weigh 4: room for one
    clock.now += 12
    assert _allowed(backing, clock)


def test_redis_costs_one_round_trip_per_request(settings, monkeypatch):
    cache = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}"})
    clock = _Clock(1_000 * DURATION)
    assert _allowed(cache, clock)
    sent = []
    original = Connection.send_packed_command
    monkeypatch.setattr(
        Connection, "send_packed_command", lambda self, *a, **k: sent.append(a) or original(self, *a, **k)
    )
    assert _allowed(cache, clock)
    assert len(sent) == 1, "the three commands go together, in one round trip"
    cache.clear()


GENEROUS = "6000/min"  # a thousandth is 6: each process may count 5 hits on its own


def _shared(backing, window: int, user=1) -> int:
    return (backing or caches["default"]).get(f"throttle_client_{user}:{window}", 0)


def test_a_generous_rate_is_counted_here_and_added_in_steps(backing):
    clock = _Clock(1_000 * DURATION)
    assert _allowed(backing, clock, rate=GENEROUS)
    assert _shared(backing, 1_000) == 1
    for _ in range(5):
        assert _allowed(backing, clock, rate=GENEROUS)
    assert _shared(backing, 1_000) == 1, "five hits counted here only"
    assert _allowed(backing, clock, rate=GENEROUS)
    assert _shared(backing, 1_000) == 7, "the sixth goes with them"


def test_hits_counted_here_are_added_within_a_second(backing):
    clock = _Clock(1_000 * DURATION)
    for _ in range(3):
        assert _allowed(backing, clock, rate=GENEROUS)
    assert _shared(backing, 1_000) == 1
    clock.now += 1
    assert _allowed(backing, clock, rate=GENEROUS)
    assert _shared(backing, 1_000) == 4


def test_hits_counted_here_count_for_their_own_window(backing):
    clock = _Clock(1_000 * DURATION + 59)
    for _ in range(4):
        assert _allowed(backing, clock, rate=GENEROUS)
    clock.now = 1_001 * DURATION
    assert _allowed(backing, clock, rate=GENEROUS)
    assert _shared(backing, 1_000) == 4
    assert _shared(backing, 1_001) == 1


def test_near_the_limit_every_hit_asks_the_shared_count(backing):
    clock = _Clock(1_000 * DURATION)
    assert _allowed(backing, clock, rate=GENEROUS)
    (backing or caches["default"]).incr("throttle_client_1:1000", 5_989)  # other processes' hits: 5,990 in all
    answers = [_allowed(backing, clock, rate=GENEROUS) for _ in range(12)]
    assert answers == [True] * 10 + [False] * 2
    assert _shared(backing, 1_000) == 6_000


def test_several_processes_exceed_the_rate_by_at_most_their_own_counts(backing, monkeypatch):
    clock = _Clock(1_000 * DURATION)
    processes = [{}, {}, {}]
    allowed = 0
    for i in range(6_300):
        monkeypatch.setattr(throttling, "_tallies", processes[i % 3])
        allowed += _allowed(backing, clock, rate=GENEROUS)
    assert 6_000 <= allowed <= 6_000 + 3 * 5, allowed


@pytest.mark.django_db
def test_the_api_answers_429_with_retry_after(monkeypatch, api_token):
    monkeypatch.setattr(ClientThrottle, "get_rate", lambda self: "3/min")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token}")
    statuses = [client.get("/api/v1/loans").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/loans")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_login_is_throttled_per_address(monkeypatch, client):
    monkeypatch.setattr(LoginThrottle, "get_rate", lambda self: "2/min")
    url = reverse("login")
    statuses = [client.post(url, {"username": "x", "password": "y"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
