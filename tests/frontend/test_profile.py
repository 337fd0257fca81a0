"""The profile page: one's own fields, the picture through the files check, what other
members see (privacy), and the browser's time zone saved by a POST only."""

from __future__ import annotations

import re

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hub.accounts.models import User
from tests.factories import UserFactory
from tests.frontend.pages import find
from tests.hub.test_files import bomb_png, png

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume"),
]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LYCEUM_FILE_ACCEL = ""


def form_data(**changes):
    data = {
        "display_name": "Lina Martin",
        "email": "lina@example.org",
        "bio": "Safety officer, likes **bold** claims.",
        "time_zone": "Europe/Paris",
        "language": "fr",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_profile_needs_a_login(client):
    response = client.get(reverse("profile"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_profile_saves_every_field_and_the_language_takes_effect(client, learner):
    client.force_login(learner)
    page = client.get(reverse("profile"))
    assert page.status_code == 200
    assert find(page.content, data_testid="profile-form")["tag"] == "form"

    response = client.post(reverse("profile"), form_data(email_visible="on"))
    assert response.status_code == 302
    learner.refresh_from_db()
    assert learner.display_name == "Lina Martin"
    assert learner.email == "lina@example.org"
    assert learner.bio.startswith("Safety officer")
    assert learner.time_zone == "Europe/Paris"
    assert learner.language == "fr"
    assert learner.email_visible is True
    assert response.cookies["django_language"].value == "fr"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time_zone", "Mars/Olympus_Mons"),
        ("email", "not an address"),
        ("language", "xx"),
        ("bio", "x" * 501),
    ],
)
def test_bad_values_are_refused_and_nothing_changes(client, learner, field, value):
    client.force_login(learner)
    before = User.objects.get(pk=learner.pk)
    response = client.post(reverse("profile"), form_data(**{field: value}))
    assert response.status_code == 400
    assert find(response.content, data_testid="profile-errors")
    after = User.objects.get(pk=learner.pk)
    for name in ("display_name", "email", "bio", "time_zone", "language"):
        assert getattr(after, name) == getattr(before, name)


def upload(name: str, content: bytes, kind: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=kind)


def test_a_picture_is_stored_privately_and_seen_by_members_of_my_spaces(
    client, learner, learner2, outsider
):
    client.force_login(learner)
    response = client.post(reverse("profile"), form_data(avatar=upload("me.png", png(64, 64))))
    assert response.status_code == 302
    learner.refresh_from_db()
    assert learner.avatar.name.startswith("avatars/") and "me" not in learner.avatar.name
    url = learner.avatar.url

    assert client.get(url).status_code == 200  # my own
    client.force_login(learner2)  # shares the space
    seen = client.get(url)
    assert seen.status_code == 200 and seen["X-Content-Type-Options"] == "nosniff"
    client.force_login(outsider)  # in another space only
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 404

    # The page shows it instead of the initials.
    client.force_login(learner2)
    assert f'src="{url}"' in client.get(reverse("person", args=[learner.pk])).content.decode()


def test_a_new_picture_replaces_the_old_file_and_remove_takes_it_away(
    client, learner, django_capture_on_commit_callbacks
):
    client.force_login(learner)
    client.post(reverse("profile"), form_data(avatar=upload("a.png", png())))
    learner.refresh_from_db()
    first = learner.avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("profile"), form_data(avatar=upload("b.png", png(3, 3))))
    learner.refresh_from_db()
    assert learner.avatar.name != first
    assert not default_storage.exists(first)  # the old picture is gone once replaced
    client.post(reverse("profile"), form_data(remove_avatar="on"))
    learner.refresh_from_db()
    assert not learner.avatar


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("page.png", b"<!doctype html><script>alert(1)</script>", "image/png"),
        ("bomb.png", bomb_png(), "image/png"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/svg+xml"),
        ("empty.png", b"", "image/png"),
        ("doc.pdf", b"%PDF-1.4 nothing", "application/pdf"),
    ],
)
def test_bad_pictures_are_refused_and_nothing_is_stored(client, learner, name, content, kind):
    client.force_login(learner)
    response = client.post(reverse("profile"), form_data(avatar=upload(name, content, kind)))
    assert response.status_code == 400
    learner.refresh_from_db()
    assert not learner.avatar
    assert learner.display_name != "Lina Martin"  # the other fields were not saved either
    assert not default_storage.exists("avatars") or not default_storage.listdir("avatars")[1]


def test_members_see_name_and_bio_but_the_email_only_if_shown(client, learner, learner2):
    learner.bio = "About Leo"
    learner.email = "leo@example.org"
    learner.save()
    client.force_login(learner2)
    page = client.get(reverse("person", args=[learner.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "About Leo" in html
    assert "leo@example.org" not in html

    learner.email_visible = True
    learner.save()
    assert "leo@example.org" in client.get(reverse("person", args=[learner.pk])).content.decode()


def test_managers_and_admins_always_see_the_email(client, learner, manager, space):
    from hub.accounts.models import Role

    learner.email = "leo@example.org"
    learner.save()
    client.force_login(manager)
    assert "leo@example.org" in client.get(reverse("person", args=[learner.pk])).content.decode()
    admin = UserFactory(roles=[Role.ADMIN])  # in no space at all
    client.force_login(admin)
    assert "leo@example.org" in client.get(reverse("person", args=[learner.pk])).content.decode()


def test_people_outside_my_spaces_have_no_profile_for_me(client, learner, outsider):
    client.force_login(outsider)
    assert client.get(reverse("person", args=[learner.pk])).status_code == 404
    assert client.get(reverse("person", args=[999999])).status_code == 404
    learner.is_active = False
    learner.save()
    client.force_login(outsider)
    assert client.get(reverse("person", args=[learner.pk])).status_code == 404


def test_the_browser_zone_is_saved_once_by_post_never_by_get(client, learner):
    client.force_login(learner)
    url = reverse("profile-time-zone")
    assert client.get(url, {"time_zone": "Asia/Tokyo"}).status_code == 405
    learner.refresh_from_db()
    assert learner.time_zone == ""

    assert client.post(url, {"time_zone": "Asia/Tokyo"}).json() == {"saved": True}
    learner.refresh_from_db()
    assert learner.time_zone == "Asia/Tokyo"
    # A zone the person chose (or one saved already) is never overwritten by the browser's.
    assert client.post(url, {"time_zone": "Europe/Paris"}).json() == {"saved": False}
    learner.refresh_from_db()
    assert learner.time_zone == "Asia/Tokyo"


@pytest.mark.parametrize("zone", ["", "Nowhere/City", "../../etc/passwd", "Europe/Paris\x00"])
def test_a_bad_browser_zone_is_a_400(client, learner, zone):
    client.force_login(learner)
    response = client.post(reverse("profile-time-zone"), {"time_zone": zone})
    assert response.status_code == 400
    learner.refresh_from_db()
    assert learner.time_zone == ""


def body_attrs(html: bytes) -> dict[str, str]:
    tag = re.search(rb"<body([^>]*)>", html).group(1).decode()
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag))


def test_the_page_asks_the_browser_for_its_zone_only_while_none_is_chosen(client, learner):
    client.force_login(learner)
    body = body_attrs(client.get(reverse("dashboard")).content)
    assert body["data-detect-time-zone"] == reverse("profile-time-zone")
    learner.time_zone = "Asia/Tokyo"
    learner.save()
    body = body_attrs(client.get(reverse("dashboard")).content)
    assert "data-detect-time-zone" not in body
    assert body["data-time-zone"] == "Asia/Tokyo"


def test_a_broken_zone_in_the_database_falls_back_to_the_servers(client, learner, settings):
    # Written around validation (an old row, a manual edit): pages still render.
    User.objects.filter(pk=learner.pk).update(time_zone="Junk/Zone")
    client.force_login(learner)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert body_attrs(response.content)["data-time-zone"] == settings.TIME_ZONE
