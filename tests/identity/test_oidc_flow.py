"""The OpenID Connect flow against the real npm oidc-provider (run with node), without a
browser: sign-in, just-in-time account, attribute mapping, replay refused."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
import requests

from hub.accounts.models import SpaceMembership
from hub.accounts.selectors import managers_of
from identity.models import IdentityProvider, SpaceIdentity
from tests.factories import UserFactory
from tests.peers import oidc_provider

pytestmark = pytest.mark.django_db

REDIRECT = "http://testserver/sso/oidc/callback/"
ADA = {
    "email": "ada@acme.test",
    "name": "Ada Lovelace",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "department": "Engines",
    "manager": "grace@acme.test",
    "groups": ["lyceum-trainers"],
}


@pytest.fixture(scope="module")
def issuer():
    client = {
        "client_id": "lyceum",
        "client_secret": "s3cret",
        "redirect_uris": [REDIRECT],
        "post_logout_redirect_uris": ["http://testserver/accounts/login/"],
        "response_types": ["code"],
        "grant_types": ["authorization_code"],
    }
    with oidc_provider(clients=[client], accounts={"ada": ADA}) as url:
        yield url


@pytest.fixture
def provider(space, issuer):
    return IdentityProvider.objects.create(
        space=space,
        slug="acme-id",
        name="Acme ID",
        kind="oidc",
        issuer=issuer,
        client_id="lyceum",
        client_secret="s3cret",
        role_groups={"lyceum-trainers": "trainer"},
    )


def idp_sign_in(url: str, login: str = "ada") -> str:
    """Through the provider's own sign-in form; the callback URL it sends the browser to."""
    s = requests.Session()
    r = s.get(url, timeout=10)
    action = re.search(r'action="([^"]+)"', r.text).group(1)
    r = s.post(
        action,
        data={"prompt": "login", "login": login, "password": "x"},
        allow_redirects=False,
        timeout=10,
    )
    while r.status_code in (302, 303) and not r.headers["location"].startswith(REDIRECT):
        loc = r.headers["location"]
        r = s.get(
            loc if loc.startswith("http") else url.split("/auth")[0] + loc,
            allow_redirects=False,
            timeout=10,
        )
    assert r.headers["location"].startswith(REDIRECT), r.text[:300]
    return r.headers["location"]


def start(client, space) -> str:
    page = client.post(f"/sso/{space.slug}/acme-id/start/", {"next": "/"})
    assert page.status_code == 200
    return (
        re.search(r'href="([^"]+)" data-testid="sso-continue"', page.content.decode())
        .group(1)
        .replace("&amp;", "&")
    )


def test_sign_in_creates_the_account_with_mapped_attributes(client, space, provider):
    grace = UserFactory(username="grace", email="grace@acme.test", spaces=[space])
    callback = idp_sign_in(start(client, space))
    response = client.get(callback.replace("http://testserver", ""))
    assert response.status_code == 302, response.content[:500]
    from django.contrib.auth import get_user_model

    ada = get_user_model().objects.get(email="ada@acme.test")
    assert ada.display_name == "Ada Lovelace"
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")
    assert ada.has_role("trainer")
    assert SpaceMembership.objects.filter(space=space, user=ada).exists()
    assert list(managers_of(user=ada)) == [grace]
    assert ada.teams.filter(name="Engines").exists()
    assert int(client.session["_auth_user_id"]) == ada.pk
    # The same answer again (a replay) is refused and signs nobody in.
    client.logout()
    again = client.get(callback.replace("http://testserver", ""))
    assert again.status_code == 400
    assert "_auth_user_id" not in client.session


def test_a_forged_state_or_a_provider_error_is_refused(client, space, provider):
    response = client.get("/sso/oidc/callback/?" + urlencode({"code": "x", "state": "forged"}))
    assert response.status_code == 400
    response = client.get("/sso/oidc/callback/?error=access_denied&state=zz")
    assert response.status_code == 400
    assert b"access_denied" in response.content


def test_sso_only_refuses_passwords_but_not_to_superusers(client, space, learner):
    SpaceIdentity.objects.create(space=space, sso_only=True)
    learner.set_password("pw-123456!")
    learner.save()
    response = client.post(
        "/accounts/login/", {"username": learner.username, "password": "pw-123456!"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    root = UserFactory(username="root", is_superuser=True, spaces=[space])
    root.set_password("pw-123456!")
    root.save()
    response = client.post("/accounts/login/", {"username": "root", "password": "pw-123456!"})
    assert response.status_code == 302


def test_logout_ends_the_session_and_goes_to_the_providers_end_session(client, space, provider):
    """RP-initiated logout: our logout ends the local session and sends the browser to the
    provider's end_session_endpoint with id_token_hint and the registered
    post_logout_redirect_uri; the provider accepts both."""
    from urllib.parse import parse_qs, urlparse

    from hub.audit.models import Entry

    callback = idp_sign_in(start(client, space))
    assert client.get(callback.replace("http://testserver", "")).status_code == 302
    page = client.post("/accounts/logout/")
    assert page.status_code == 200
    assert "_auth_user_id" not in client.session
    url = (
        re.search(r'href="([^"]+)" data-testid="sso-continue"', page.content.decode())
        .group(1)
        .replace("&amp;", "&")
    )
    assert url.startswith(provider.issuer + "/session/end?")
    query = parse_qs(urlparse(url).query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    assert query["id_token_hint"][0].count(".") == 2
    # The provider accepts the hint and the URI (a wrong one is a 400 there) and goes on
    # to end its session.
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and "/session/end/confirm" in r.text, r.text[:300]
    wrong = url.replace("accounts%2Flogin", "elsewhere")
    assert requests.get(wrong, timeout=10).status_code == 400
    entry = Entry.objects.filter(action="sso.logout").latest("pk")
    assert entry.details == {"provider": "acme-id", "at_provider": True}
