"""Login, logout and password change pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PASSWORD
from tests.frontend.pages import find

pytestmark = pytest.mark.django_db


def test_login_page_renders_a_labelled_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    form = find(html, data_testid="login-form")
    assert form["tag"] == "form"
    for field_id in ("id_username", "id_password"):
        assert f'<label for="{field_id}">' in html
        assert f'id="{field_id}"' in html
    # The anonymous header still offers the language switcher.
    assert find(html, data_testid="language-form")["tag"] == "form"


def test_login_with_valid_credentials_opens_the_dashboard(client, learner):
    response = client.post(
        reverse("login"), {"username": "learner1", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("dashboard")
    assert response.wsgi_request.user == learner
    assert "Welcome, Learner1" in response.content.decode()


def test_login_with_a_bad_password_is_refused(client, learner):
    response = client.post(reverse("login"), {"username": "learner1", "password": "wrong"})
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "Please enter a correct username and password" in html
    assert client.get(reverse("dashboard")).status_code == 302


def test_login_goes_to_next_only_on_this_site(client, learner):
    response = client.post(
        reverse("login"),
        {"username": "learner1", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_logout_is_a_post(client, learner):
    client.force_login(learner)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("dashboard")).status_code == 200

    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_password_change_sets_the_password_and_renews_the_feed_token(client, learner):
    client.force_login(learner)
    old_token = learner.feed_token
    assert old_token
    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    assert '<label for="id_old_password">' in page.content.decode()

    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Quiet-Harbour-917",
            "new_password2": "Quiet-Harbour-917",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    learner.refresh_from_db()
    assert learner.check_password("Quiet-Harbour-917")
    assert learner.feed_token and learner.feed_token != old_token
    # Still logged in (the session follows the new password hash).
    assert client.get(reverse("password_change_done")).status_code == 200


def test_password_change_with_a_wrong_old_password_changes_nothing(client, learner):
    client.force_login(learner)
    old_token = learner.feed_token
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "not-it",
            "new_password1": "Quiet-Harbour-917",
            "new_password2": "Quiet-Harbour-917",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    learner.refresh_from_db()
    assert learner.check_password(PASSWORD)
    assert learner.feed_token == old_token
