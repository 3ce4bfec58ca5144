"""Throttles on the shared (Redis) cache: strict for anonymous callers and logins,
generous for authenticated API clients (core banking posts thousands of payments a minute).

DRF's stock throttles keep a list with the time of every request in the window and write it
back whole on each request: at the client rate (600,000 an hour) that list grows to megabytes,
unpickled and pickled again on every call. These count instead, with the sliding-window
estimate: the hits of the current fixed window plus the previous window's hits weighted by how
much of it still overlaps the sliding window. Memory and time per request are constant, and on
Redis a request costs one round trip. A refused request is not counted.
"""

import contextlib

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


class SlidingWindowThrottle(SimpleRateThrottle):
    @property
    def cache(self):
        return caches["default"]  # the backend itself, not the `cache` proxy (its type decides the path)

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window, elapsed = divmod(self.now, self.duration)
        self.elapsed = elapsed
        current_key = f"{key}:{int(window)}"
        self.current, self.previous = self._hit(current_key, f"{key}:{int(window) - 1}")
        if self._estimate(self.current, elapsed) > self.num_requests:
            self._unhit(current_key)
            self.current -= 1
            return self.throttle_failure()
        return True

    def _estimate(self, current: int, elapsed: float) -> float:
        return current + self.previous * (self.duration - elapsed) / self.duration

    def _hit(self, current_key: str, previous_key: str) -> tuple[int, int]:
        """Count one hit in the current window; return it and the previous window's count."""
        cache = self.cache
        timeout = 2 * self.duration  # the window is read again as the next one's previous
        if isinstance(cache, RedisCache):
            current_key = cache.make_and_validate_key(current_key)
            pipe = _redis(cache).pipeline(transaction=False)
            pipe.incr(current_key)
            pipe.expire(current_key, timeout)
            pipe.get(cache.make_and_validate_key(previous_key))
            current, _expiry_set, previous = pipe.execute()
            return current, int(previous or 0)
        cache.add(current_key, 0, timeout)
        try:
            current = cache.incr(current_key)
        except ValueError:  # it expired in between (the clock moved on)
            cache.set(current_key, current := 1, timeout)
        return current, cache.get(previous_key, 0)

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
