"""LTI Dynamic Registration, Lyceum as the platform: an administrator opens a tool's
registration URL with our space's OpenID configuration and a one-time registration token;
the tool posts its client metadata to the space's registration endpoint and is registered,
awaiting activation. Bad tokens and hostile metadata change nothing."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from externaltools import lti, services
from externaltools.models import RegistrationToken, Tool
from hub.accounts.services import roles_set
from tests.externaltools.conftest import TOOL_ORIGIN, Setup
from tests.factories import SpaceFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]

CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"


def metadata(**changes: Any) -> dict[str, Any]:
    """A registration request as ltijs sends it (its DynamicRegistration service)."""
    body: dict[str, Any] = {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": f"{TOOL_ORIGIN}/login",
        "redirect_uris": [f"{TOOL_ORIGIN}/launch", f"{TOOL_ORIGIN}/other"],
        "client_name": "Self-registered drills",
        "jwks_uri": f"{TOOL_ORIGIN}/keys",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(lti.SCOPES),
        CONFIG: {
            "domain": "tool.example.org",
            "description": "Drills that register themselves",
            "target_link_uri": f"{TOOL_ORIGIN}/launch",
            "custom_parameters": {"via": "dynreg"},
            "claims": ["iss", "sub", "name", "email"],
            "messages": [
                {"type": "LtiResourceLinkRequest"},
                {"type": "LtiDeepLinkingRequest", "target_link_uri": f"{TOOL_ORIGIN}/deep"},
                {"type": "LtiSubmissionReviewRequest"},
            ],
        },
    }
    for key, value in changes.items():
        if key.startswith("config__"):
            body[CONFIG][key.removeprefix("config__")] = value
        else:
            body[key] = value
    return body


@pytest.fixture
def admin(space, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    return UserFactory(username="admin1", roles=["admin"], spaces=[space])


def start(admin, space, **options: Any) -> tuple[str, str]:
    url, token, _row = services.registration_start(
        actor=admin, space=space, initiation_url=f"{TOOL_ORIGIN}/register", **options
    )
    return url, token


def post(client, space, body: Any, token: str | None, *, raw: bytes | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    data = raw if raw is not None else json.dumps(body).encode()
    return client.generic(
        "POST",
        f"/externaltools/spaces/{space.pk}/register",
        data,
        content_type="application/json",
        **headers,
    )


def test_a_space_configuration_advertises_its_registration_endpoint(client, admin, space):
    config = client.get(f"/externaltools/spaces/{space.pk}/openid-configuration").json()
    assert config["registration_endpoint"] == (
        f"http://127.0.0.1:8000/externaltools/spaces/{space.pk}/register"
    )
    assert config["issuer"] == "http://127.0.0.1:8000"
    assert "registration_endpoint" not in client.get("/externaltools/openid-configuration").json()
    assert client.get("/externaltools/spaces/999999/openid-configuration").status_code == 404


def test_the_administrator_opens_the_tools_registration_in_a_frame(client, admin, space):
    client.force_login(admin)
    response = client.post(
        f"/externaltools/spaces/{space.pk}/registrations/",
        {
            "registration-initiation_url": f"{TOOL_ORIGIN}/register?lang=en",
            "registration-allow_grades": "on",
            "registration-share_name": "on",
        },
    )
    assert response.status_code == 200
    assert TOOL_ORIGIN in response["Content-Security-Policy"]  # frame-src lets the tool in
    html = response.content.decode()
    assert 'data-testid="registration-frame"' in html
    src = html.split('data-testid="registration-frame"')[1].split('src="')[1].split('"')[0]
    parts = urlsplit(src.replace("&amp;", "&"))
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{TOOL_ORIGIN}/register"
    query = parse_qs(parts.query)
    assert query["lang"] == ["en"]
    assert query["openid_configuration"] == [
        f"http://127.0.0.1:8000/externaltools/spaces/{space.pk}/openid-configuration"
    ]
    row = RegistrationToken.objects.get()
    assert row.space == space and row.created_by == admin and row.used_at is None
    assert row.token_hash != query["registration_token"][0]  # only its hash is kept
    assert row.scopes == list(lti.AGS_SCOPES)  # the roster was not allowed
    assert timezone.now() < row.expires_at <= timezone.now() + timedelta(minutes=10)


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,x", "http://evil.example/r"]
)
def test_a_registration_url_lyceum_cannot_open_is_refused(client, admin, space, url):
    client.force_login(admin)
    response = client.post(
        f"/externaltools/spaces/{space.pk}/registrations/", {"registration-initiation_url": url}
    )
    assert response.status_code == 400
    assert not RegistrationToken.objects.exists()


def test_only_the_spaces_administrators_start_a_registration(client, admin, space, trainer):
    other = SpaceFactory()
    coordinator = UserFactory(roles=["coordinator"], spaces=[other])
    for person in (trainer, coordinator):
        client.force_login(person)
        response = client.post(
            f"/externaltools/spaces/{space.pk}/registrations/",
            {"registration-initiation_url": f"{TOOL_ORIGIN}/register"},
        )
        assert response.status_code == 404
    assert client.get(f"/externaltools/spaces/{space.pk}/registrations/").status_code == 405
    assert not RegistrationToken.objects.exists()


def test_the_tool_registers_itself_awaiting_activation(client, admin, space):
    _url, token = start(admin, space, allow_roster=False, share_email=True)
    response = post(client, space, metadata(), token)
    assert response.status_code == 201, response.content
    body = response.json()
    tool = Tool.objects.get()
    assert body["client_id"] == tool.client_id
    assert body[CONFIG]["deployment_id"] == tool.deployment_id
    assert body["scope"].split() == list(lti.AGS_SCOPES)  # the roster was not allowed
    assert body[CONFIG]["claims"] == ["iss", "sub", "name", "given_name", "family_name", "email"]
    assert [m["type"] for m in body[CONFIG]["messages"]] == [
        "LtiResourceLinkRequest",
        "LtiDeepLinkingRequest",
    ]
    assert (tool.space, tool.created_by, tool.name) == (space, admin, "Self-registered drills")
    assert not tool.is_active and tool.pending
    assert tool.login_url == f"{TOOL_ORIGIN}/login"
    assert tool.launch_url == f"{TOOL_ORIGIN}/launch"
    assert tool.deep_linking_url == f"{TOOL_ORIGIN}/deep"
    assert tool.jwks_url == f"{TOOL_ORIGIN}/keys"
    assert f"{TOOL_ORIGIN}/other" in tool.allowed_redirects()
    assert tool.custom == {"via": "dynreg"}
    assert tool.share_name and tool.share_email
    assert tool.scopes == list(lti.AGS_SCOPES)
    assert RegistrationToken.objects.get().tool == tool
    # The token is spent: the same request again registers nothing.
    again = post(client, space, metadata(), token)
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in again["WWW-Authenticate"]
    assert Tool.objects.count() == 1
    # The administrator activates it; it is then a tool like any other.
    client.force_login(admin)
    page = client.get(f"/externaltools/spaces/{space.pk}/").content.decode()
    assert "Awaiting activation" in page
    client.post(f"/externaltools/tools/{tool.pk}/active/", {"active": "1"})
    tool.refresh_from_db()
    assert tool.is_active and not tool.pending


def test_privacy_follows_the_administrator_and_the_claims_asked(client, admin, space):
    _url, token = start(admin, space, share_name=True, share_email=True)
    post(client, space, metadata(config__claims=["iss", "sub"]), token)
    tool = Tool.objects.get()
    assert not tool.share_name and not tool.share_email
    _url, token = start(admin, space, share_name=True, share_email=False)
    assert post(client, space, metadata(), token).status_code == 201
    tool = Tool.objects.latest("pk")
    assert tool.share_name and not tool.share_email


def test_a_dynamically_registered_tool_gets_only_its_granted_scopes(
    client, admin, space, trainer, learner, tool_key, monkeypatch
):
    monkeypatch.setattr(lti, "_fetch_jwks", lambda url: {"keys": [tool_key.as_dict(private=False)]})
    _url, token = start(admin, space, allow_grades=False)
    assert post(client, space, metadata(), token).status_code == 201
    tool = Tool.objects.get()
    services.tool_update(actor=admin, tool=tool, is_active=True)
    setup = Setup(tool, None, None, None, admin, trainer, learner, tool_key)

    def token_for(scope: str):
        return client.post(
            "/externaltools/token",
            {
                "grant_type": "client_credentials",
                "client_assertion_type": services.CLIENT_ASSERTION_TYPE,
                "client_assertion": setup.assertion(),
                "scope": scope,
            },
        )

    assert token_for(lti.AGS_SCOPES[3]).status_code == 401  # grades were not allowed
    granted = token_for(f"{lti.AGS_SCOPES[3]} {lti.NRPS_SCOPE}")
    assert granted.status_code == 200 and granted.json()["scope"] == lti.NRPS_SCOPE
    # ... and its launches carry the roster claim but no grades claim.
    course = services.classrooms_services.course_create(author=trainer, space=space, title="C")
    module = services.classrooms_services.module_create(user=trainer, course=course, title="M")
    claims = services._service_claims(tool, course, None)
    assert lti.NRPS in claims and lti.AGS not in claims
    assert module.course == course


def _deep(body: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


HOSTILE = {
    "javascript: login": (["initiate_login_uri"], "javascript:alert(1)"),
    "javascript: redirect": (["redirect_uris"], ["javascript:alert(document.cookie)"]),
    "data: keys": (["jwks_uri"], "data:application/json,{}"),
    "javascript: target": ([CONFIG, "target_link_uri"], "javascript:alert(1)"),
    "javascript: deep link": (
        [CONFIG, "messages"],
        [{"type": "LtiDeepLinkingRequest", "target_link_uri": "javascript:x"}],
    ),
    "plain http elsewhere": (["initiate_login_uri"], "http://tool.example.org/login"),
    "credentials in a URL": (["jwks_uri"], "https://u:p@tool.example.org/keys"),
    "outside its domain": (["jwks_uri"], "https://evil.example/keys"),
    "no redirect": (["redirect_uris"], []),
    "too many redirects": (["redirect_uris"], [f"{TOOL_ORIGIN}/r{i}" for i in range(21)]),
    "unknown scope": (["scope"], f"{lti.AGS_SCOPES[0]} https://evil.example/admin"),
    "openid scope": (["scope"], "openid"),
    "scope not a text": (["scope"], ["x"]),
    "no configuration": ([CONFIG], None),
    "configuration not an object": ([CONFIG], "x"),
    "no target link": ([CONFIG, "target_link_uri"], None),
    "no name": (["client_name"], ""),
    "long name": (["client_name"], "x" * 201),
    "native application": (["application_type"], "native"),
    "no id_token": (["response_types"], ["code"]),
    "no client credentials": (["grant_types"], ["implicit"]),
    "a client secret": (["token_endpoint_auth_method"], "client_secret_basic"),
    "too many custom parameters": (
        [CONFIG, "custom_parameters"],
        {f"p{i}": "v" for i in range(51)},
    ),
    "custom parameters not an object": ([CONFIG, "custom_parameters"], ["a=b"]),
    "messages not a list": ([CONFIG, "messages"], {"type": "LtiResourceLinkRequest"}),
    "a message with no type": ([CONFIG, "messages"], [{}]),
    "claims not texts": ([CONFIG, "claims"], [1, 2]),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_metadata_is_refused_and_registers_nothing(client, admin, space, case):
    path, value = HOSTILE[case]
    _url, token = start(admin, space)
    response = post(client, space, _deep(metadata(), path, value), token)
    assert response.status_code == 400, response.content
    assert response.json()["error"] in {"invalid_client_metadata", "invalid_redirect_uri"}
    assert not Tool.objects.exists()
    # The token is not spent by a refused request: a good one still registers.
    assert RegistrationToken.objects.get().used_at is None
    assert post(client, space, metadata(), token).status_code == 201


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2]", b"null", b"\xff\xfe", b"", b"[" * 30_000 + b"]" * 30_000],
    ids=["malformed", "a list", "null", "not utf-8", "empty", "nested 30,000 deep"],
)
def test_a_body_that_is_not_a_json_object_is_refused(client, admin, space, raw):
    _url, token = start(admin, space)
    response = post(client, space, None, token, raw=raw)
    assert response.status_code == 400
    assert not Tool.objects.exists()


def test_an_oversize_body_is_refused(client, admin, space):
    _url, token = start(admin, space)
    body = metadata(config__description="x" * 70_000)
    response = post(client, space, body, token)
    assert response.status_code == 413
    assert not Tool.objects.exists() and RegistrationToken.objects.get().used_at is None


def test_bad_tokens_register_nothing(client, admin, space):
    other_space = SpaceFactory()
    _url, token = start(admin, space)
    # No token, a malformed header, an unknown token.
    assert post(client, space, metadata(), None).status_code == 401
    response = client.generic(
        "POST",
        f"/externaltools/spaces/{space.pk}/register",
        json.dumps(metadata()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {token}",
    )
    assert response.status_code == 401
    assert post(client, space, metadata(), token + "x").status_code == 401
    # This space's token at another space's endpoint.
    assert post(client, other_space, metadata(), token).status_code == 401
    # An expired token.
    RegistrationToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert post(client, space, metadata(), token).status_code == 401
    # A token whose administrator lost the right to register tools meanwhile.
    _url, token = start(admin, space)
    roles_set(user=admin, roles=["learner"])
    assert post(client, space, metadata(), token).status_code == 401
    assert not Tool.objects.exists()
    assert not RegistrationToken.objects.filter(used_at__isnull=False).exists()
    # GET is not a registration.
    assert client.get(f"/externaltools/spaces/{space.pk}/register").status_code == 405


def test_rest_starts_a_registration_lists_and_activates(api_client_for, admin, space, learner):
    api = api_client_for(admin)
    response = api.post(
        f"/api/v1/spaces/{space.pk}/external-tools/registrations/",
        {"initiation_url": f"{TOOL_ORIGIN}/register", "allow_roster": False},
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["registration_url"].startswith(f"{TOOL_ORIGIN}/register?openid_configuration=")
    assert data["openid_configuration"].endswith(f"/spaces/{space.pk}/openid-configuration")
    assert data["registration_token"] in data["registration_url"]
    created = post(Client(), space, metadata(), data["registration_token"])
    assert created.status_code == 201
    listed = api.get(f"/api/v1/spaces/{space.pk}/external-tools/").json()
    assert [(t["name"], t["is_active"], t["pending"]) for t in listed] == [
        ("Self-registered drills", False, True)
    ]
    tool_url = f"/api/v1/spaces/{space.pk}/external-tools/{listed[0]['id']}/"
    assert api.patch(tool_url, {"is_active": True}, format="json").json()["pending"] is False
    # Bad input and other people change nothing.
    bad = api.post(
        f"/api/v1/spaces/{space.pk}/external-tools/registrations/",
        {"initiation_url": "javascript:alert(1)"},
        format="json",
    )
    assert bad.status_code == 400
    learner_api = api_client_for(learner)
    assert learner_api.get(f"/api/v1/spaces/{space.pk}/external-tools/").status_code == 404
    refused = learner_api.post(
        f"/api/v1/spaces/{space.pk}/external-tools/registrations/",
        {"initiation_url": f"{TOOL_ORIGIN}/register"},
        format="json",
    )
    assert refused.status_code == 404
    assert learner_api.patch(tool_url, {"is_active": False}, format="json").status_code == 404
    assert RegistrationToken.objects.count() == 1
    assert Tool.objects.get().is_active
