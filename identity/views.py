"""Pages of identity: single sign-on (start, OpenID Connect callback, SAML endpoints,
logout) and the CSV import."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from hub.accounts.services import space_switch
from identity import hooks, sso
from identity.backends import BACKEND
from identity.models import ExternalIdentity, IdentityProvider

SESSION_PROVIDER = "identity_provider"
SESSION_ID_TOKEN = "identity_id_token"
SESSION_SAML_INDEX = "identity_saml_index"


def safe_next(request: HttpRequest, value: Any) -> str:
    if isinstance(value, str) and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return reverse("dashboard")


def refused(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(request, "identity/sso_error.html", {"message": message}, status=status)


@require_POST
def sso_start(request: HttpRequest, space_slug: str, provider_slug: str) -> HttpResponse:
    provider = get_object_or_404(
        IdentityProvider.objects.select_related("space"),
        space__slug=space_slug,
        slug=provider_slug,
        enabled=True,
    )
    next_url = safe_next(request, request.POST.get("next"))
    try:
        if provider.kind == IdentityProvider.Kind.OIDC:
            url = sso.oidc_begin(request=request, provider=provider, next_url=next_url)
        else:
            from identity import saml

            url = saml.begin(request=request, provider=provider, next_url=next_url)
    except sso.SSOError as exc:
        return refused(request, str(exc), status=502)
    # A page that moves on by itself: a redirect answering the form would be held to the
    # page's CSP form-action ('self'), which the provider's address is not.
    response = render(request, "identity/sso_redirect.html", {"url": url, "provider": provider})
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def finish(
    request: HttpRequest,
    provider: IdentityProvider,
    user: Any,
    next_url: str,
    *,
    id_token: str = "",
    session_index: str = "",
) -> Any:
    auth_login(request, user, backend=BACKEND)
    request.session[SESSION_PROVIDER] = provider.pk
    # What logout needs: the ID token (id_token_hint) or the SAML session index.
    if id_token:
        request.session[SESSION_ID_TOKEN] = id_token
    if session_index:
        request.session[SESSION_SAML_INDEX] = session_index
    space_switch(request=request, space=provider.space)
    return HttpResponseRedirect(safe_next(request, next_url))


@require_GET
def oidc_callback(request: HttpRequest) -> HttpResponse:
    """The provider's redirect back (authorization code). The state is single use, so the
    same answer twice is refused; what changes is the person's own session."""
    state = request.GET.get("state", "")
    if request.GET.get("error"):
        pending = request.session.get(sso.SESSION_KEY, {})
        if state in pending:
            pending.pop(state)
            request.session[sso.SESSION_KEY] = pending
        code = request.GET["error"]
        code = code if re.fullmatch(r"[a-z_]{1,40}", code) else "error"
        return refused(
            request, _("The identity provider refused the sign-in (%(code)s).") % {"code": code}
        )
    try:
        provider, claims, next_url = sso.oidc_complete(
            request=request, state=state, code=request.GET.get("code", "")
        )
        id_token = claims.pop("_id_token", "")
        user = sso.sign_in(
            provider=provider,
            subject=str(claims.get("sub", "")),
            attributes=claims,
            request=request,
        )
    except sso.SSOError as exc:
        return refused(request, str(exc))
    return finish(request, provider, user, next_url, id_token=id_token)


@csrf_exempt  # the IdP posts here; the response's signature and InResponseTo guard it
@require_POST
def saml_acs(request: HttpRequest, pk: int) -> HttpResponse:
    from identity import saml

    provider = get_object_or_404(
        IdentityProvider, pk=pk, enabled=True, kind=IdentityProvider.Kind.SAML
    )
    try:
        subject, attributes, session_index, next_url = saml.complete(
            request=request,
            provider=provider,
            saml_response=request.POST.get("SAMLResponse", ""),
        )
        user = sso.sign_in(
            provider=provider,
            subject=subject,
            attributes=attributes,
            request=request,
            session_index=session_index,
        )
    except sso.SSOError as exc:
        return refused(request, str(exc))
    return finish(request, provider, user, next_url, session_index=session_index)


@require_GET
def saml_metadata(request: HttpRequest, pk: int) -> HttpResponse:
    from identity import saml

    provider = get_object_or_404(
        IdentityProvider, pk=pk, enabled=True, kind=IdentityProvider.Kind.SAML
    )
    return HttpResponse(saml.metadata_xml(request, provider), content_type="application/xml")


@csrf_exempt  # the IdP posts here; the message's signature and InResponseTo guard it
@require_POST
def saml_sls(request: HttpRequest, pk: int) -> HttpResponse:
    """Single logout, HTTP-POST binding. A ``SAMLResponse`` answers the LogoutRequest our
    logout sent (the local session is already over); a ``SAMLRequest`` is the IdP ending
    the person's session (IdP-initiated): their Lyceum sessions signed in through this IdP
    with that NameID (and session index) end, and the IdP gets a signed LogoutResponse."""
    from identity import saml

    provider = get_object_or_404(
        IdentityProvider.objects.select_related("space"),
        pk=pk,
        enabled=True,
        kind=IdentityProvider.Kind.SAML,
    )
    if "SAMLResponse" in request.POST:
        try:
            done = saml.logout_response_complete(
                request=request, provider=provider, saml_response=request.POST["SAMLResponse"]
            )
        except sso.SSOError as exc:
            return refused(request, str(exc))
        hooks.audit(
            action="sso.logout_confirmed",
            target=get_user_model().objects.filter(pk=done["user"]).first(),
            space=provider.space,
            request=request,
            details={"provider": provider.slug, "status": done["status"].rsplit(":", 1)[-1]},
        )
        return HttpResponseRedirect(reverse("login"))
    try:
        message, _idp = saml.logout_request_complete(
            request=request, provider=provider, saml_request=request.POST.get("SAMLRequest", "")
        )
    except sso.SSOError as exc:
        return refused(request, str(exc))
    indexes = {si.text for si in (message.session_index or []) if si.text}
    link = (
        ExternalIdentity.objects.select_related("user")
        .filter(provider=provider, subject=message.name_id.text)
        .first()
    )
    ended = 0
    if link is not None and (not indexes or link.session_index in indexes):
        ended = sessions_end_for(user=link.user, provider=provider, indexes=indexes)
        hooks.audit(
            action="sso.logout_by_idp",
            target=link.user,
            space=provider.space,
            request=request,
            details={"provider": provider.slug, "sessions_ended": ended},
        )
    url = saml.logout_answer(
        request=request, provider=provider, message=message, success=link is not None
    )
    if url is None:
        return HttpResponse(status=204)
    return HttpResponseRedirect(url)


def sessions_end_for(*, user: Any, provider: IdentityProvider, indexes: set[str]) -> int:
    """End the person's browser sessions that were signed in through this provider (with
    one of these SAML session indexes when the IdP names some)."""
    from hub.accounts.lifecycle import sessions_end

    def through_provider(data: dict[str, Any]) -> bool:
        if data.get(SESSION_PROVIDER) != provider.pk:
            return False
        return not indexes or data.get(SESSION_SAML_INDEX) in indexes

    ended = sessions_end(user=user, match=through_provider)
    if ended:
        from hub.realtime import disconnect_user

        disconnect_user(user_id=user.pk)
    return ended


def leave(request: HttpRequest, url: str, provider: IdentityProvider) -> HttpResponse:
    """Our page that moves on to the provider's logout (a redirect answering the logout
    form would be held to the page's CSP form-action)."""
    response = render(
        request,
        "identity/sso_redirect.html",
        {"url": url, "provider": provider, "leaving": True},
    )
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Ends the local session; then, after a SAML sign-in at an IdP that offers single
    logout, sends our signed LogoutRequest to the IdP, and after an OpenID Connect sign-in
    at a provider with an ``end_session_endpoint``, goes there (RP-initiated logout)."""
    provider_id = request.session.get(SESSION_PROVIDER)
    id_token = request.session.get(SESSION_ID_TOKEN, "")
    provider = None
    if provider_id and request.user.is_authenticated:
        provider = (
            IdentityProvider.objects.select_related("space")
            .filter(pk=provider_id, enabled=True)
            .first()
        )
    if provider is None:  # the audit log records the logout (hub.audit.signals)
        return auth_views.LogoutView.as_view()(request)
    user = request.user
    url = None
    if provider.kind == IdentityProvider.Kind.SAML:
        from identity import saml

        url = saml.logout_begin(request=request, provider=provider, user=user)
    else:
        url = sso.oidc_logout_url(request=request, provider=provider, id_token=id_token)
    hooks.audit(
        action="sso.logout",
        actor=user,
        target=user,
        space=provider.space,
        request=request,
        details={"provider": provider.slug, "at_provider": bool(url)},
    )
    if not url:
        return auth_views.LogoutView.as_view()(request)
    auth_logout(request)
    return leave(request, url, provider)


urlpatterns = [
    path("accounts/logout/", logout, name="logout"),
    path("sso/<slug:space_slug>/<slug:provider_slug>/start/", sso_start, name="sso-start"),
    path("sso/oidc/callback/", oidc_callback, name="sso-oidc-callback"),
    path("sso/saml/<int:pk>/acs/", saml_acs, name="sso-saml-acs"),
    path("sso/saml/<int:pk>/metadata/", saml_metadata, name="sso-saml-metadata"),
    path("sso/saml/<int:pk>/sls/", saml_sls, name="sso-saml-sls"),
]
