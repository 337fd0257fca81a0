"""GET /api/v1/search/ and the search page: validation, bad input, permissions."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from messaging import services as chat

pytestmark = pytest.mark.django_db


@pytest.fixture
def said(group, learner, run_tasks):
    message = chat.message_send(
        sender=learner, conversation=group, body="<img src=x onerror=alert(1)> pelican"
    )
    run_tasks()  # commits; the catch-up job indexes the new message
    return message


def test_results_are_paged_ranked_and_escaped(api_client_for, learner2, said, group):
    response = api_client_for(learner2).get(
        "/api/v1/search/", {"q": "pelican", "where": f"conversation:{group.pk}"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["page"] == 1 and body["has_next"] is False
    (hit,) = body["results"]
    assert hit["source"] == "message" and hit["object_id"] == said.pk
    assert "<img" not in hit["snippet_html"]
    stripped = hit["snippet_html"].replace("<mark>", "").replace("</mark>", "")
    assert "<" not in stripped and ">" not in stripped
    assert "<mark>pelican</mark>" in hit["snippet_html"]


def test_someone_elses_ids_find_nothing(api_client_for, outsider, said, group, space):
    client = api_client_for(outsider)
    for params in (
        {"q": "pelican"},
        {"q": "pelican", "where": f"conversation:{group.pk}"},
        {"q": "pelican", "space": space.pk},
    ):
        response = client.get("/api/v1/search/", params)
        assert response.status_code == 200
        assert response.json()["results"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "x" * 201}, "q"),
        ({"q": "a", "where": "nowhere"}, "where"),
        ({"q": "a", "where": "conversation:abc"}, "where"),
        ({"q": "a", "where": "conversation:99999999999999999999"}, "where"),
        ({"q": "a", "space": "²"}, "space"),
        ({"q": "a", "author": "-1"}, "author"),
        ({"q": "a", "date_from": "0001-01-01"}, "date_from"),
        ({"q": "a", "date_from": "2026-02-02", "date_to": "2026-01-01"}, "date_to"),
        ({"q": "a", "page": "0"}, "page"),
        ({"q": "a", "page_size": "1000"}, "page_size"),
        ({}, "q"),
    ],
)
def test_bad_parameters_are_refused_clearly(api_client_for, learner, params, field):
    response = api_client_for(learner).get("/api/v1/search/", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_too_long_says_how_long(api_client_for, learner):
    response = api_client_for(learner).get("/api/v1/search/", {"q": "x" * 201})
    assert "200" in response.json()["error"]["details"]["q"][0]


@pytest.mark.parametrize("q", ['"', "((", "NEAR(a b)", "*", "a OR", 'pelican"*)', ":*", "!"])
def test_engine_syntax_never_fails(api_client_for, learner, said, q):
    response = api_client_for(learner).get("/api/v1/search/", {"q": q})
    assert response.status_code == 200


def test_anonymous_callers_are_refused(client):
    assert client.get("/api/v1/search/", {"q": "pelican"}).status_code in (401, 403)


def test_searches_are_throttled(api_client_for, learner, settings):
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "search": "2/min",
        },
    }
    from search.api import SearchRateThrottle

    SearchRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        client = api_client_for(learner)
        codes = [client.get("/api/v1/search/", {"q": "a"}).status_code for _ in range(3)]
    finally:
        from rest_framework.settings import api_settings

        SearchRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    assert codes == [200, 200, 429]


def test_the_page_renders_results_without_script(client, learner2, said):
    client.force_login(learner2)
    response = client.get("/search/", {"q": "pelican"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<mark>pelican</mark>" in html
    assert "<img src=x" not in html
    assert f"#message-{said.pk}" in html


def test_the_page_refuses_a_long_query_clearly(client, learner):
    client.force_login(learner)
    response = client.get("/search/", {"q": "x" * 300})
    assert response.status_code == 400
    assert "200" in response.content.decode()


def test_the_top_bar_links_to_search(client, learner):
    client.force_login(learner)
    assert 'data-testid="search-link"' in client.get("/search/").content.decode()
