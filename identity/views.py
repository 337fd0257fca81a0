"""Pages of identity: single sign-on (start, OpenID Connect callback, SAML endpoints,
logout) and the CSV import."""

from __future__ import annotations

import re
from typing import Any

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
from identity import sso
from identity.backends import BACKEND
from identity.models import IdentityProvider

SESSION_PROVIDER = "identity_provider"


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


def finish(request: HttpRequest, provider: IdentityProvider, user: Any, next_url: str) -> Any:
    auth_login(request, user, backend=BACKEND)
    request.session[SESSION_PROVIDER] = provider.pk
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
        user = sso.sign_in(
            provider=provider,
            subject=str(claims.get("sub", "")),
            attributes=claims,
            request=request,
        )
    except sso.SSOError as exc:
        return refused(request, str(exc))
    return finish(request, provider, user, next_url)


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
    return finish(request, provider, user, next_url)


@require_GET
def saml_metadata(request: HttpRequest, pk: int) -> HttpResponse:
    from identity import saml

    provider = get_object_or_404(
        IdentityProvider, pk=pk, enabled=True, kind=IdentityProvider.Kind.SAML
    )
    return HttpResponse(saml.metadata_xml(request, provider), content_type="application/xml")


@require_GET
def saml_sls(request: HttpRequest, pk: int) -> HttpResponse:
    """Where the IdP sends the browser back after single logout: the local session is
    already over."""
    return HttpResponseRedirect(reverse("login"))


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Ends the local session; after a SAML sign-in at an IdP that offers single logout,
    goes on to the IdP's logout."""
    provider_id = request.session.get(SESSION_PROVIDER)
    if provider_id and request.user.is_authenticated:
        provider = IdentityProvider.objects.filter(
            pk=provider_id, kind=IdentityProvider.Kind.SAML
        ).first()
        if provider is not None:
            from identity import saml

            url = saml.logout_url(request=request, provider=provider, user=request.user)
            if url:
                auth_logout(request)
                return HttpResponseRedirect(url)
    return auth_views.LogoutView.as_view()(request)


urlpatterns = [
    path("accounts/logout/", logout, name="logout"),
    path("sso/<slug:space_slug>/<slug:provider_slug>/start/", sso_start, name="sso-start"),
    path("sso/oidc/callback/", oidc_callback, name="sso-oidc-callback"),
    path("sso/saml/<int:pk>/acs/", saml_acs, name="sso-saml-acs"),
    path("sso/saml/<int:pk>/metadata/", saml_metadata, name="sso-saml-metadata"),
    path("sso/saml/<int:pk>/sls/", saml_sls, name="sso-saml-sls"),
]
