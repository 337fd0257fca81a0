"""Every error under /api/ is answered in the API's JSON format
(``{"error": {"code", "message", "details"?}}``), whatever raised it: an unknown URL, a
wrong method, a server error (still logged with its traceback), a body Django refuses
(too large, too many fields, malformed multipart), a JSON body nested 100,000 deep, a NUL
character (which PostgreSQL text cannot hold). Pages keep their HTML error pages."""

from __future__ import annotations

import logging

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

ANNOUNCEMENTS = "/api/v1/announcements/"


def _api_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    error = response.json()["error"]
    assert error["code"] == code and error["message"], error
    return error


@pytest.fixture
def api(api_client_for, trainer) -> APIClient:
    client = api_client_for(trainer)
    # A 500 is answered as a real server would, not re-raised into the test.
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v1/sessions/999999/x/", "/api/"])
def test_an_unknown_api_url_is_a_json_404(api, path):
    _api_error(api.get(path), 404, "not_found")


def test_an_unknown_api_url_is_a_json_404_for_anonymous_callers_too(client):
    _api_error(client.get("/api/v1/nothing-here/"), 404, "not_found")


def test_an_unknown_page_is_still_an_html_404(client, learner):
    client.force_login(learner)
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_wrong_method_is_a_json_405(api):
    _api_error(api.put("/api/v1/me/", {}, format="json"), 405, "method_not_allowed")


def test_a_server_error_is_a_json_500_and_its_traceback_is_logged(api, monkeypatch, caplog):
    from hub.accounts import api as accounts_api

    def broken(self, request):
        raise RuntimeError("boom in the view")

    monkeypatch.setattr(accounts_api.MeView, "get", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = api.get("/api/v1/me/")
    error = _api_error(response, 500, "server_error")
    assert "boom" not in error["message"]  # no internals to the caller
    logged = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert logged and "boom in the view" in str(logged[0].exc_info[1])


def test_a_page_server_error_is_still_an_html_page(client, learner, monkeypatch):
    from hub import views

    def broken(request):
        raise RuntimeError("boom in the page")

    monkeypatch.setattr(views.notify, "notifications_for", broken)
    client.raise_request_exception = False
    client.force_login(learner)
    response = client.get("/notifications/")
    assert response.status_code == 500 and response["Content-Type"].startswith("text/html")


# -- bodies Django or the parser refuses --------------------------------------------------------
def test_a_form_body_over_the_memory_limit_is_a_json_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(
        ANNOUNCEMENTS,
        "title=x&body=" + "a" * 5000,
        content_type="application/x-www-form-urlencoded",
    )
    _api_error(response, 413, "too_large")


def test_a_json_body_over_the_memory_limit_is_a_json_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(ANNOUNCEMENTS, {"title": "x", "body": "a" * 5000}, format="json")
    _api_error(response, 413, "too_large")


def test_a_multipart_field_over_the_memory_limit_is_a_json_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(ANNOUNCEMENTS, {"title": "x", "body": "a" * 5000}, format="multipart")
    _api_error(response, 413, "too_large")


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart"])
def test_too_many_fields_is_a_json_400(api, settings, content_type):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    fields = {f"f{i}": "x" for i in range(20)}
    if content_type == "multipart":
        response = api.post(ANNOUNCEMENTS, fields, format="multipart")
    else:
        body = "&".join(f"{k}={v}" for k, v in fields.items())
        response = api.post(ANNOUNCEMENTS, body, content_type=content_type)
    _api_error(response, 400, "invalid")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data; boundary=xyz", b"this is not multipart at all"),
        ("multipart/form-data", b"--xyz\r\nno boundary declared\r\n--xyz--\r\n"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-da"),
    ],
)
def test_a_malformed_multipart_body_is_a_json_400(api, content_type, body):
    _api_error(api.post(ANNOUNCEMENTS, body, content_type=content_type), 400, "invalid")


def _announcement(space, extra: str) -> str:
    return f'{{"title": "Hello", "body": "World", "space": {space.pk}, "extra": {extra}}}'


@pytest.mark.parametrize(
    "extra",
    ["[" * 100_000, "[" * 150 + "]" * 150, '{"a":' * 150 + "1" + "}" * 150, "{not json"],
)
def test_a_json_body_nested_too_deep_or_malformed_is_a_json_400(api, space, extra):
    body = _announcement(space, extra)
    _api_error(api.post(ANNOUNCEMENTS, body, content_type="application/json"), 400, "invalid")


def test_a_json_body_of_ordinary_depth_is_parsed(api, space):
    body = _announcement(space, "[" * 50 + "]" * 50)
    assert api.post(ANNOUNCEMENTS, body, content_type="application/json").status_code == 201


# -- NUL characters ---------------------------------------------------------------------------
def test_a_nul_in_forum_search_is_a_json_400(api):
    _api_error(api.get("/api/v1/forums/search/", {"q": "a\x00b"}), 400, "invalid")


@pytest.mark.parametrize(
    "query",
    [{"q": "\x00"}, {"q\x00": "x"}, {"q": "x", "forum": "1\x00"}],
)
def test_a_nul_anywhere_in_an_api_query_string_is_a_json_400(api, query):
    _api_error(api.get("/api/v1/forums/search/", query), 400, "invalid")


def test_a_nul_in_a_json_body_is_a_json_400(api, space):
    body = {"title": "ok", "body": "fine", "space": space.pk, "tags": {"k\x00": ["v"]}}
    _api_error(api.post(ANNOUNCEMENTS, body, format="json"), 400, "invalid")


def test_a_nul_in_a_form_body_is_a_json_400(api):
    response = api.post(
        ANNOUNCEMENTS, "title=a%00b&body=x", content_type="application/x-www-form-urlencoded"
    )
    _api_error(response, 400, "invalid")


def test_a_nul_in_a_page_query_is_a_400_page(client, learner):
    client.force_login(learner)
    response = client.get("/forums/search/", {"q": "a\x00b"})
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")


def test_a_nul_in_the_session_cookie_is_a_400(client):
    client.cookies["sessionid"] = "\x00" * 32
    assert client.get("/").status_code == 400


def test_an_ordinary_form_body_still_reaches_the_api(api, space):
    """The NUL check reads an url-encoded body before the view: the view still gets it."""
    response = api.post(
        ANNOUNCEMENTS,
        f"title=Hello&body=World&space={space.pk}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 201, response.content[:300]
    assert response.json()["title"] == "Hello"
