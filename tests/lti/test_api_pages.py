"""Platforms over REST (space admins only, documented), the space page with the values the
other side needs, its registration form, and the Deep Linking picker's refusals."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lti.models import Platform
from tests.factories import SpaceFactory, UserFactory

BODY = {
    "name": "Moodle",
    "issuer": "https://moodle.example.test",
    "client_id": "abc123",
    "deployment_ids": ["1"],
    "auth_login_url": "https://moodle.example.test/mod/lti/auth.php",
    "auth_token_url": "https://moodle.example.test/mod/lti/token.php",
    "key_set_url": "https://moodle.example.test/mod/lti/certs.php",
}


def test_admin_creates_lists_updates_and_deletes_a_platform(api_client_for, admin, space):
    api = api_client_for(admin)
    created = api.post("/api/v1/lti/platforms/", {**BODY, "space": space.pk}, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["deployment_ids"] == ["1"]
    listed = api.get("/api/v1/lti/platforms/", {"space": space.pk}).json()
    assert [p["id"] for p in listed] == [pk]
    patched = api.patch(
        f"/api/v1/lti/platforms/{pk}/", {"deployment_ids": ["1", "2"]}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["deployment_ids"] == ["1", "2"]
    assert api.delete(f"/api/v1/lti/platforms/{pk}/").status_code == 204
    assert Platform.objects.count() == 0


@pytest.mark.parametrize(
    "change",
    [
        {"issuer": ""},
        {"auth_login_url": "javascript:alert(1)"},
        {"deployment_ids": "1"},
        {"deployment_ids": [""]},
        {"key_set_url": "not a url"},
    ],
)
def test_bad_platform_bodies_are_400(api_client_for, admin, space, change):
    response = api_client_for(admin).post(
        "/api/v1/lti/platforms/", {**BODY, "space": space.pk, **change}, format="json"
    )
    assert response.status_code == 400
    assert Platform.objects.count() == 0


def test_same_issuer_and_client_twice_is_400(api_client_for, admin, space):
    api = api_client_for(admin)
    assert (
        api.post("/api/v1/lti/platforms/", {**BODY, "space": space.pk}, format="json").status_code
        == 201
    )
    again = api.post("/api/v1/lti/platforms/", {**BODY, "space": space.pk}, format="json")
    assert again.status_code == 400
    assert Platform.objects.count() == 1


def test_default_course_of_another_space_is_400(api_client_for, admin, space, trainer):
    from tests.classrooms.conftest import build_course

    elsewhere = SpaceFactory()
    foreign = build_course(
        trainer=UserFactory(roles=["trainer"], spaces=[elsewhere]), space=elsewhere
    )
    response = api_client_for(admin).post(
        "/api/v1/lti/platforms/",
        {**BODY, "space": space.pk, "default_course": foreign.course.pk},
        format="json",
    )
    assert response.status_code == 400
    assert Platform.objects.count() == 0


def test_non_admins_and_other_spaces_admins_cannot_touch_platforms(
    api_client_for, admin, space, trainer
):
    created = api_client_for(admin).post(
        "/api/v1/lti/platforms/", {**BODY, "space": space.pk}, format="json"
    )
    pk = created.json()["id"]
    other_space = SpaceFactory()
    other_admin = UserFactory(roles=["admin"], spaces=[other_space])
    for user in (trainer, other_admin):
        api = api_client_for(user)
        assert api.get("/api/v1/lti/platforms/").json() == []
        assert api.get(f"/api/v1/lti/platforms/{pk}/").status_code == 404
        assert (
            api.patch(f"/api/v1/lti/platforms/{pk}/", {"name": "x"}, format="json").status_code
            == 404
        )
        assert api.delete(f"/api/v1/lti/platforms/{pk}/").status_code == 404
        denied = api.post(
            "/api/v1/lti/platforms/", {**BODY, "client_id": "z", "space": space.pk}, format="json"
        )
        assert denied.status_code == 403
    assert Platform.objects.get().name == "Moodle"
    assert Platform.objects.count() == 1


def test_anonymous_api_is_refused(client):
    assert client.get("/api/v1/lti/platforms/").status_code in (401, 403)


def test_settings_page_lists_values_and_registers_a_platform(client, admin, space):
    client.force_login(admin)
    url = reverse("lti-settings", args=[space.slug])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    for path in (
        "/lti/test-space/login/",
        "/lti/test-space/launch/",
        "/lti/test-space/jwks/",
        "/lti/test-space/register/",
    ):
        assert f"http://testserver{path}" in html
    form = {
        **{k: v for k, v in BODY.items() if k != "deployment_ids"},
        "deployment_ids_text": "1\n2\n",
    }
    response = client.post(url, form)
    assert response.status_code == 302
    assert Platform.objects.get().deployment_ids == ["1", "2"]
    again = client.post(url, form)
    assert again.status_code == 200 and Platform.objects.count() == 1  # shown with its error


def test_settings_page_is_for_admins_of_the_space(client, learner, space):
    client.force_login(learner)
    assert client.get(reverse("lti-settings", args=[space.slug])).status_code == 404


def test_picker_without_a_launch_of_ones_own_is_refused(client, admin, space):
    client.force_login(admin)
    url = reverse("lti-deep-link", args=[space.slug])
    assert client.get(url, {"launch": "lti1p3-launch-someone-elses"}).status_code == 403
    assert client.post(url, {"launch": "x", "target": "course:1"}).status_code == 403


def test_schema_documents_the_platform_endpoints(api_client_for, admin):
    schema = api_client_for(admin).get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/lti/platforms/" in paths
    assert {"get", "post"} <= set(paths["/api/v1/lti/platforms/"])
