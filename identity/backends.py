"""The password backend with the "SSO only" switch: a member of a space whose people sign in
through its identity providers gets no password sign-in (the login page, the admin, the
token API). Sessions opened by single sign-on name this backend too."""

from __future__ import annotations

from typing import Any

from hub.accounts.lockout import LockoutModelBackend


class PasswordOrSSOBackend(LockoutModelBackend):
    def authenticate(self, request: Any, username: Any = None, password: Any = None, **kw: Any):
        user = super().authenticate(request, username=username, password=password, **kw)
        if user is not None:
            from identity import hooks, sso

            if sso.password_refused(user):
                hooks.audit(action="sso.password_refused", target=user, request=request)
                if request is not None:
                    request.lyceum_sso_only = True
                return None
        return user


BACKEND = f"{PasswordOrSSOBackend.__module__}.{PasswordOrSSOBackend.__qualname__}"
