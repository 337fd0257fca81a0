"""Sign-in lockout: brute force and password spraying meet a wall, per account and per address.

Every password check that comes with a request (the login page, the admin's login, the
REST token endpoint) goes through ``LockoutModelBackend``:

* ``ACCOUNT_FAILURES`` wrong passwords for one username within ``WINDOW`` seconds lock that
  username for ``LOCKOUT`` seconds; ``ADDRESS_FAILURES`` failures from one client address
  (any usernames: spraying) lock that address. Settings: ``LYCEUM_LOGIN_LOCKOUT``.
* While locked, no password is checked at all -- the right one is refused like a wrong one,
  so a lockout never tells an attacker whether a guess was right.
* A successful sign-in clears its username's failures (not its address's: one good account
  must not reset the count of a spraying address).

Counters live in the Django cache (Redis in services mode, so every process shares them;
process memory in embedded mode, where there is one process). The client address is the
one the trusted proxies report (``hub.client_address``), never the header as sent.

The backend does not say why it refused: ``authenticate()`` returns ``None`` either way. It
leaves the lockout on the request (``refusal``) so the page and the API can say "wait N
minutes" instead of "wrong password".
"""

from __future__ import annotations

import hashlib
import math
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext, ngettext

from hub.client_address import client_address
from hub.outages import is_outage, warn_once

_REFUSAL_ATTR = "lyceum_login_refusal"


@dataclass(frozen=True)
class LockedOut:
    """Sign-in refused for ``retry_after`` more seconds."""

    retry_after: int

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))

    @property
    def message(self) -> str:
        return ngettext(
            "Too many failed sign-in attempts. Wait %(minutes)d minute, then try again.",
            "Too many failed sign-in attempts. Wait %(minutes)d minutes, then try again.",
            self.minutes,
        ) % {"minutes": self.minutes}


@dataclass(frozen=True)
class Unavailable:
    """Sign-in refused because the failure counters (the cache: Redis in services mode)
    cannot be read. Refused rather than let through uncounted: the lockout is what stops
    a password being guessed (the token endpoint answers 503 for the same reason)."""

    retry_after: int = 60

    @property
    def message(self) -> str:
        return gettext("Signing in is briefly unavailable. Try again in a minute.")


def _config() -> dict[str, int]:
    return settings.LYCEUM_LOGIN_LOCKOUT


def _account_key(username: str) -> str:
    # Usernames differing only by case or Unicode form are one target; hashed so any
    # username makes a short, safe cache key.
    normal = unicodedata.normalize("NFKC", username).strip().casefold()
    return "login:account:" + hashlib.sha256(normal.encode()).hexdigest()


def _address_key(request: Any) -> str:
    return "login:address:" + client_address(request)


def check(request: Any, username: str) -> LockedOut | None:
    """The lockout in force for this username or this client address, if any."""
    until = cache.get_many([f"{_account_key(username)}:lock", f"{_address_key(request)}:lock"])
    remaining = max(until.values(), default=0) - time.time()
    return LockedOut(math.ceil(remaining)) if remaining > 0 else None


def _count_failure(key: str, limit: int) -> LockedOut | None:
    """One more failure under ``key``; lock it when the window's count reaches ``limit``."""
    config = _config()
    counter = f"{key}:failures"
    cache.add(counter, 0, timeout=config["WINDOW"])  # the window starts at the first failure
    try:
        failures = cache.incr(counter)
    except ValueError:  # the window ended between add and incr
        cache.set(counter, 1, timeout=config["WINDOW"])
        failures = 1
    if failures < limit:
        return None
    cache.set(f"{key}:lock", time.time() + config["LOCKOUT"], timeout=config["LOCKOUT"])
    cache.delete(counter)  # after the lockout, a fresh window
    return LockedOut(config["LOCKOUT"])


def record_failure(request: Any, username: str) -> LockedOut | None:
    """Count a wrong password for the username and the address; the lockout it started."""
    config = _config()
    by_account = _count_failure(_account_key(username), config["ACCOUNT_FAILURES"])
    by_address = _count_failure(_address_key(request), config["ADDRESS_FAILURES"])
    return by_account or by_address


def record_success(username: str) -> None:
    """A right password outside any lockout: the username's failures are forgiven."""
    cache.delete(f"{_account_key(username)}:failures")


def refusal(request: Any) -> LockedOut | Unavailable | None:
    """The lockout that made ``authenticate()`` refuse this request, if that was the reason."""
    return getattr(request, _REFUSAL_ATTR, None)


class LockoutModelBackend(ModelBackend):
    """Django's model backend behind the per-account and per-address lockout."""

    def authenticate(
        self,
        request: Any,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get(self._username_field())
        if request is None or username is None or password is None:
            # No client to count against (a script's own check): Django's behaviour.
            return super().authenticate(request, username, password, **kwargs)
        try:
            locked: LockedOut | Unavailable | None = check(request, username)
        except Exception as exc:
            if not is_outage(exc):
                raise
            warn_once("cache", "sign-in refused: the lockout's counters cannot be read (%s)", exc)
            locked = Unavailable()
        if locked is not None:
            setattr(request, _REFUSAL_ATTR, locked)
            raise PermissionDenied  # stops authenticate(): no password is tried
        user = super().authenticate(request, username, password, **kwargs)
        try:
            if user is None:
                locked = record_failure(request, username)
                if locked is not None:
                    setattr(request, _REFUSAL_ATTR, locked)
            else:
                record_success(username)
        except Exception as exc:  # the cache went away between the check and now
            if not is_outage(exc):
                raise
            warn_once("cache", "sign-in not counted: the lockout's counters are down (%s)", exc)
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD
