"""The base template and dashboard: panels and navigation by role, spaces, language."""

from __future__ import annotations

import pytest
from django.urls import reverse

from hub.accounts.models import Role
from hub.accounts.services import space_add_member
from tests.factories import SpaceFactory, UserFactory
from tests.frontend.pages import find, find_all

pytestmark = pytest.mark.django_db

PANELS = ("learner", "trainer", "coordinator", "manager", "admin")


def panels_on(html: str) -> set[str]:
    return {p for p in PANELS if find_all(html, data_testid=f"panel-{p}")}


@pytest.mark.parametrize("who", ["learner", "trainer", "coordinator", "manager", "admin"])
def test_dashboard_shows_the_panel_of_each_role_held_and_no_other(client, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    html = client.get(reverse("dashboard")).content.decode()
    assert panels_on(html) == {who}


def test_a_person_with_two_roles_sees_both_panels(client, space):
    user = UserFactory(roles=[Role.TRAINER, Role.MANAGER], spaces=[space])
    client.force_login(user)
    html = client.get(reverse("dashboard")).content.decode()
    assert panels_on(html) == {"trainer", "manager"}


def test_manager_panel_lists_the_team(client, manager):
    client.force_login(manager)
    panel = find(client.get(reverse("dashboard")).content, data_testid="panel-manager")
    assert "Team A" in panel["text"]
    assert "Learner1" in panel["text"] and "Learner2" in panel["text"]


def _nav_links(html: str) -> list[dict]:
    from html.parser import HTMLParser

    class Links(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.links: list[dict] = []

        def handle_starttag(self, tag: str, attrs: list) -> None:
            values = dict(attrs)
            if tag == "a" and "data-nav" in values:
                self.links.append({"attrs": values})

    parser = Links()
    parser.feed(html)
    return parser.links


@pytest.mark.parametrize(
    ("who", "back_office"),
    [
        ("learner", False),
        ("trainer", False),
        ("coordinator", False),
        ("manager", False),
        ("admin", True),
        ("staff", True),
    ],
)
def test_back_office_link_only_for_admins_and_staff(client, request, who, back_office):
    client.force_login(request.getfixturevalue(who))
    html = client.get(reverse("dashboard")).content.decode()
    links = {a["attrs"]["data-nav"]: a["attrs"]["href"] for a in _nav_links(html)}
    assert {"dashboard", "announcements", "notifications"} <= set(links)
    assert ("admin" in links) is back_office
    assert (reverse("admin:index") in html) is back_office


@pytest.mark.parametrize(
    ("who", "can_post"),
    [("learner", False), ("manager", False), ("trainer", True), ("coordinator", True)],
)
def test_new_announcement_link_only_for_those_who_may_post(client, request, who, can_post):
    client.force_login(request.getfixturevalue(who))
    html = client.get(reverse("dashboard")).content.decode()
    keys = {a["attrs"]["data-nav"] for a in _nav_links(html)}
    assert ("announcement-new" in keys) is can_post


def test_current_page_is_marked_in_the_navigation(client, learner):
    client.force_login(learner)
    html = client.get(reverse("announcements")).content.decode()
    current = [a["attrs"]["data-nav"] for a in _nav_links(html) if "aria-current" in a["attrs"]]
    assert current == ["announcements"]


def test_header_wears_the_space_colours_and_logo(client, learner, space):
    space.brand_color = "#ffdd00"  # light: text on it must be black
    space.logo.name = "spaces/acme.png"
    space.save()
    client.force_login(learner)
    html = client.get(reverse("dashboard")).content.decode()
    assert 'href="/brand/ffdd00.css"' in html
    css = client.get("/brand/ffdd00.css").content.decode()
    assert "--brand: #ffdd00;" in css
    assert "--on-brand: #000000;" in css
    light, dark = css.splitlines()
    assert "--brand-ink: #ffdd00;" not in light  # too light for links on the light page
    assert "--brand-ink: #ffdd00;" in dark  # and fine on the dark one
    brand = find(html, data_testid="brand")
    assert "Test Space" in brand["text"]
    assert 'src="/media/spaces/acme.png"' in html


def test_a_broken_brand_colour_never_reaches_the_page(client, learner, space):
    # Seven characters: what the column holds on PostgreSQL too (bypassing validation).
    type(space).objects.filter(pk=space.pk).update(brand_color="red;}</")
    client.force_login(learner)
    html = client.get(reverse("dashboard")).content.decode()
    assert 'href="/brand/1f5f8b.css"' in html
    assert "red;}" not in html


def test_brand_stylesheet_is_the_colours_cached_for_good(client):
    response = client.get("/brand/7a1fa2.css")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert "immutable" in response["Cache-Control"] and "public" in response["Cache-Control"]
    assert response.content.decode() == (
        ":root { --brand: #7a1fa2; --on-brand: #ffffff; --brand-ink: #7a1fa2; }\n"
        # Too dark for links on the dark page: lightened there until it reads (4.5:1).
        "@media (prefers-color-scheme: dark) { :root { --brand-ink: #b684cc; } }\n"
    )
    # Only six lower-case hex digits name a stylesheet: nothing else reaches the CSS.
    for bad in ("/brand/7A1FA2.css", "/brand/red.css", "/brand/7a1fa2;}.css", "/brand/.css"):
        assert client.get(bad).status_code == 404


@pytest.fixture
def second_space(learner):
    # Sorts after "Test Space", so "Test Space" is where the learner starts.
    other = SpaceFactory(name="Zeta Space", brand_color="#7a1fa2")
    space_add_member(space=other, user=learner)
    return other


def test_space_switcher_lists_my_spaces_with_their_colours(client, learner, second_space, outsider):
    client.force_login(learner)
    html = client.get(reverse("dashboard")).content.decode()
    switcher = find(html, data_testid="space-switcher")
    assert "Test Space" in switcher["text"] and "Zeta Space" in switcher["text"]
    assert 'fill="#7a1fa2"' in html
    foreign = outsider.spaces.get()
    assert foreign.name not in switcher["text"]


def test_no_switcher_with_a_single_space(client, learner):
    client.force_login(learner)
    html = client.get(reverse("dashboard")).content.decode()
    assert not find_all(html, data_testid="space-switcher")


def test_space_switcher_switches_the_current_space(client, learner, space, second_space):
    client.force_login(learner)
    assert client.get(reverse("dashboard")).wsgi_request.space.pk == space.pk

    response = client.post(
        reverse("space-switch"), {"space": second_space.pk, "next": reverse("announcements")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("announcements")
    page = client.get(reverse("dashboard"))
    assert page.wsgi_request.space.pk == second_space.pk
    assert "Zeta Space" in find(page.content, data_testid="brand")["text"]
    assert 'href="/brand/7a1fa2.css"' in page.content.decode()


def test_space_switcher_refuses_a_space_i_am_not_in(client, learner, space, outsider):
    client.force_login(learner)
    foreign = outsider.spaces.get()
    response = client.post(reverse("space-switch"), {"space": foreign.pk, "next": "/"})
    assert response.status_code == 404
    assert client.get(reverse("dashboard")).wsgi_request.space.pk == space.pk


def test_space_switcher_never_redirects_off_site(client, learner, second_space):
    client.force_login(learner)
    response = client.post(
        reverse("space-switch"), {"space": second_space.pk, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_every_asset_is_served_by_us(client, learner):
    client.force_login(learner)
    html = client.get(reverse("dashboard")).content.decode()
    for attr in ("src=", "href="):
        for chunk in html.split(attr)[1:]:
            url = chunk[1:].split(chunk[0], 1)[0]
            assert not url.startswith(("http:", "https:", "//")), url


def test_manifest_is_served(client):
    response = client.get(reverse("manifest"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    assert response.json()["icons"][0]["src"].startswith("/static/")
