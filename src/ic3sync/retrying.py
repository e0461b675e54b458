"""The one retry policy, for the Innomaint client and the notifiers: tenacity, exponential
back-off with jitter, a server's Retry-After honoured up to a cap."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP-date); None if unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive one is read as such
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


class Backoff:
    """tenacity's wait: the server's Retry-After (an exception's `retry_after`, capped) when it
    gave one, else "equal jitter": half the exponential step fixed, so retries never bunch up
    at zero, the other half random, so many clients do not retry in lockstep."""

    def __init__(
        self,
        base_s: float,
        max_s: float,
        *,
        retry_after_cap_s: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self.base_s = base_s
        self.max_s = max_s
        self.retry_after_cap_s = retry_after_cap_s
        self._random = rng or random.Random()

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return float(min(retry_after, self.retry_after_cap_s))
        step = min(self.max_s, self.base_s * 2 ** (state.attempt_number - 1))
        return step / 2 + self._random.uniform(0, step / 2)


def retrying(
    *,
    retries: int,
    retry_on: Callable[[BaseException], bool],
    backoff: Backoff,
    before_sleep: Callable[[RetryCallState], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    stop: stop_base | None = None,
) -> Retrying:
    """At most `retries` retries after the first attempt of a call, each after `backoff`'s wait
    (through `sleep`, which may raise to end the waiting), while `retry_on` says the failure is
    worth one; the last failure is raised as it is."""
    options: dict[str, Any] = {"before_sleep": before_sleep} if before_sleep else {}
    limit: stop_base = stop_after_attempt(retries + 1)
    return Retrying(
        stop=limit | stop if stop is not None else limit,
        retry=retry_if_exception(retry_on),
        wait=backoff,
        sleep=sleep,
        reraise=True,
        **options,
    )
