"""Throttles on the shared (Redis) cache: strict for anonymous callers and logins,
generous for authenticated API clients (core banking posts thousands of payments a minute).

DRF's stock throttles keep a list with the time of every request in the window and write it
back whole on each request: at the client rate (600,000 an hour) that list grows to megabytes,
unpickled and pickled again on every call. These count instead, with the sliding-window
estimate: the hits of the current fixed window plus the previous window's hits weighted by how
much of it still overlaps the sliding window. Memory and time per request are constant, and on
Redis a request costs one round trip. A refused request is not counted.

A generous rate (a thousand or more a window: the API clients') need not be exact to the hit.
Each process then counts up to a thousandth of the rate (at most 100 hits, for at most a
second) on its own and adds them to the shared count in one step, asking the shared count
again whenever its own estimate comes near the limit. A client may so exceed the rate by at most
that many hits per web process; Redis is asked once per up to 100 requests instead of on each.
Strict rates (anonymous callers, logins) go to the shared count on every request.
"""

import contextlib
import threading
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle


def _redis(cache: RedisCache):
    """One redis client per cache object (Django's backend builds a new one on every call)."""
    client = getattr(cache, "_throttle_client", None)
    if client is None:
        client = cache._cache.get_client(write=True)
        cache._throttle_client = client
    return client


@dataclass
class _Tally:
    """What this process knows of one counter: its window, the shared counts as last read, and
    the hits it let through since without adding them to the shared count."""

    window: int
    shared: int
    previous: int
    synced_at: float
    pending: int = 0


_tallies: dict[str, _Tally] = {}
_tallies_lock = threading.Lock()
LOCAL_HITS_MAX = 100
LOCAL_SECONDS = 1.0


class SlidingWindowThrottle(SimpleRateThrottle):
    @property
    def cache(self):
        return caches["default"]  # the backend itself, not the `cache` proxy (its type decides the path)

    @property
    def local_hits(self) -> int:
        """Hits this process may let through before it adds them to the shared count (1: none)."""
        return max(1, min(LOCAL_HITS_MAX, self.num_requests // 1000))

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window, elapsed = divmod(self.now, self.duration)
        window = int(window)
        self.elapsed = elapsed
        local_hits = self.local_hits
        with _tallies_lock:
            tally = _tallies.get(key) if local_hits > 1 else None
            if tally is not None and self._counted_here(tally, window, local_hits):
                return True
            # The shared count: this hit, with those let through here since the last time.
            own = tally.pending if tally is not None and tally.window == window else 0
            late = tally.pending if tally is not None and tally.window == window - 1 else 0
            current_key = f"{key}:{window}"
            self.current, self.previous = self._hit(current_key, f"{key}:{window - 1}", 1 + own, late)
            refused = self._estimate(self.current, elapsed) > self.num_requests
            if refused:
                self._unhit(current_key)
                self.current -= 1
            if local_hits > 1:
                if len(_tallies) > 10_000:
                    _tallies.clear()
                _tallies[key] = _Tally(window=window, shared=self.current, previous=self.previous,
                                       synced_at=self.now)  # fmt: skip
        return self.throttle_failure() if refused else True

    def _counted_here(self, tally: _Tally, window: int, local_hits: int) -> bool:
        """Let this hit through on this process's own count, if that is safe: same window, few
        enough hits pending, recently read, and the estimate well within the rate."""
        if tally.window != window or tally.pending + 1 >= local_hits or self.now - tally.synced_at >= LOCAL_SECONDS:
            return False
        self.current, self.previous = tally.shared + tally.pending + 1, tally.previous
        if self._estimate(self.current, self.elapsed) + local_hits > self.num_requests:
            return False  # near the limit: every hit asks the shared count
        tally.pending += 1
        return True

    def _estimate(self, current: int, elapsed: float) -> float:
        return current + self.previous * (self.duration - elapsed) / self.duration

    def _hit(self, current_key: str, previous_key: str, hits: int = 1, late: int = 0) -> tuple[int, int]:
        """Count HITS in the current window (and LATE ones, let through here, in the previous);
        return the current and the previous window's counts."""
        cache = self.cache
        timeout = 2 * self.duration  # the window is read again as the next one's previous
        if isinstance(cache, RedisCache):
            current_key = cache.make_and_validate_key(current_key)
            previous_key = cache.make_and_validate_key(previous_key)
            pipe = _redis(cache).pipeline(transaction=False)
            pipe.incrby(current_key, hits)
            pipe.expire(current_key, timeout)
            if late:
                pipe.incrby(previous_key, late)
                pipe.expire(previous_key, self.duration)  # read once more, as the previous window
            else:
                pipe.get(previous_key)
            current, _expiry_set, previous, *_rest = pipe.execute()
            return current, int(previous or 0)
        if late:
            self._locmem_add(previous_key, late, timeout)
        return self._locmem_add(current_key, hits, timeout), cache.get(previous_key, 0)

    def _locmem_add(self, key: str, hits: int, timeout: int) -> int:
        cache = self.cache
        cache.add(key, 0, timeout)
        try:
            return cache.incr(key, hits)
        except ValueError:  # it expired in between (the clock moved on)
            cache.set(key, hits, timeout)
            return hits

    def _unhit(self, current_key: str) -> None:
        if isinstance(self.cache, RedisCache):
            _redis(self.cache).decr(self.cache.make_and_validate_key(current_key))
        else:
            with contextlib.suppress(ValueError):  # already expired: nothing to take back
                self.cache.decr(current_key)

    def wait(self) -> float:
        """Seconds until a request would be let through again, if nobody else calls meanwhile."""
        remaining = self.duration - self.elapsed
        if self.current + 1 > self.num_requests or not self.previous:
            return remaining  # only the next window lets it through
        # The previous window's weight falls linearly until the estimate leaves room for one more.
        fraction_needed = 1 - (self.num_requests - self.current - 1) / self.previous
        return max(0.0, fraction_needed * self.duration - self.elapsed)


class AnonThrottle(SlidingWindowThrottle):
    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None  # only anonymous callers
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ClientThrottle(SlidingWindowThrottle):
    scope = "client"

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.id}


class LoginThrottle(SlidingWindowThrottle):
    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
