"""Launches checked by PyLTI1p3 with tokens a platform signs (joserfc here): a good launch
makes the person just in time and lands them on the target; every forged, stale, replayed
or misdirected one is a clear 4xx that creates nothing."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from classrooms.models import Enrolment
from hub.accounts.models import Role, SpaceMembership
from lti.models import ContextLink, LtiIdentity, ResourceLink
from tests.factories import SpaceFactory, UserFactory
from tests.lti.conftest import CLAIM

User = get_user_model()
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def _counts():
    return (
        User.objects.count(),
        LtiIdentity.objects.count(),
        Enrolment.objects.count(),
        ResourceLink.objects.count(),
        ContextLink.objects.count(),
    )


def test_learner_launch_creates_member_enrols_and_lands_on_the_activity(
    launcher, course, space, client
):
    target = f"activity:{course.lesson.pk}"
    response = launcher.launch(**{CLAIM + "custom": {"lyceum_target": target}})
    assert response.status_code == 302
    assert response["Location"] == course.lesson.get_absolute_url()
    identity = LtiIdentity.objects.get(issuer=launcher.platform.issuer, subject="u-ada")
    user = identity.user
    assert user.display_name == "Ada Lovelace"
    assert user.email == "ada@lms.example.test"
    assert user.role_codes == {Role.LEARNER}
    assert SpaceMembership.objects.filter(space=space, user=user).exists()
    assert Enrolment.objects.filter(user=user, course=course.course).exists()
    link = ResourceLink.objects.get(resource_link_id="rl-1")
    assert (link.target_kind, link.target_id) == ("activity", course.lesson.pk)
    assert ContextLink.objects.get(context_id="ctx-1").course == course.course
    # Logged in: the activity page opens.
    assert client.get(course.lesson.get_absolute_url()).status_code == 200


def test_second_launch_reuses_the_account_and_the_link_remembers_its_target(launcher, course):
    target = f"activity:{course.lesson.pk}"
    launcher.launch(**{CLAIM + "custom": {"lyceum_target": target}})
    response = launcher.launch()  # same resource link, no custom parameter this time
    assert response["Location"] == course.lesson.get_absolute_url()
    assert LtiIdentity.objects.count() == 1
    assert User.objects.filter(lti_identities__subject="u-ada").count() == 1


def test_instructor_becomes_trainer_of_the_course(launcher, course):
    response = launcher.launch(**{CLAIM + "roles": [INSTRUCTOR]})
    assert response.status_code == 302
    assert response["Location"] == course.course.get_absolute_url()
    user = LtiIdentity.objects.get().user
    assert user.has_role(Role.TRAINER)
    assert course.course.trainers.filter(pk=user.pk).exists()


def test_deep_linked_url_target_is_followed(launcher, course):
    uri = f"http://testserver/lti/test-space/launch/?target=duels:{course.course.pk}"
    response = launcher.launch(**{CLAIM + "target_link_uri": uri})
    assert response.status_code == 302
    assert response["Location"] == reverse("leaderboards-duels") + f"?course={course.course.pk}"


def test_existing_email_is_not_taken_over(launcher, space):
    owner = UserFactory(username="ada", email="ada@lms.example.test", spaces=[space])
    launcher.launch()
    created = LtiIdentity.objects.get().user
    assert created.pk != owner.pk
    assert created.email == ""


def _assert_refused(response, status: int, before) -> None:
    assert response.status_code == status, response.content[:400]
    assert b"lti-refused" in response.content
    assert _counts() == before
    assert "_auth_user_id" not in response.wsgi_request.session


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"iss": "https://evil.example.test"}, 400),  # wrong issuer
        ({"aud": "someone-else"}, 400),  # wrong audience
        ({"exp": int(time.time()) - 60, "iat": int(time.time()) - 400}, 400),  # expired
        ({"exp": None}, 400),  # no expiry at all
        ({CLAIM + "deployment_id": "dep-unknown"}, 400),  # unknown deployment
        ({CLAIM + "resource_link": None}, 400),  # malformed message
        ({CLAIM + "custom": {"lyceum_target": "activity:999999"}}, 404),
        ({CLAIM + "custom": {"lyceum_target": "../../admin"}}, 400),
        ({"sub": ""}, 400),
        ({"aud": ["lyceum-client", "other"], "azp": None}, 400),
    ],
)
def test_bad_launches_are_refused_and_create_nothing(launcher, course, overrides, status):
    before = _counts()
    _assert_refused(launcher.launch(**overrides), status, before)


def test_forged_signature_is_refused(launcher, course, rogue_key):
    before = _counts()
    _assert_refused(launcher.launch(key=rogue_key), 400, before)


def test_replayed_launch_is_refused(launcher, course, client):
    state, nonce = launcher.login()
    from tests.lti.conftest import claims_for

    token = launcher.sign(claims_for(launcher.platform, nonce))
    assert launcher.post(token, state).status_code == 302
    client.logout()
    before = _counts()
    _assert_refused(launcher.post(token, state), 400, before)


def test_nonce_not_issued_by_us_is_refused(launcher, course):
    state, _nonce = launcher.login()
    from tests.lti.conftest import claims_for

    token = launcher.sign(claims_for(launcher.platform, "made-up-nonce"))
    before = _counts()
    _assert_refused(launcher.post(token, state), 400, before)


def test_wrong_state_is_refused(launcher, course):
    before = _counts()
    _assert_refused(launcher.launch(state="state-forged"), 400, before)


def test_garbage_token_is_refused(launcher, course):
    state, _nonce = launcher.login()
    before = _counts()
    _assert_refused(launcher.post("not.a.jwt", state), 400, before)
    _assert_refused(launcher.post("", state), 400, before)


def test_platform_of_another_space_is_refused(launcher, course, client, platform):
    other = SpaceFactory(slug="elsewhere")
    before = _counts()
    # Login initiation and launch at the other space's URLs.
    query = {
        "iss": platform.issuer,
        "client_id": platform.client_id,
        "login_hint": "u-ada",
        "target_link_uri": "http://testserver/lti/elsewhere/launch/",
    }
    response = client.get(reverse("lti-login", args=[other.slug]), query)
    assert response.status_code == 403
    state, nonce = launcher.login()
    from tests.lti.conftest import claims_for

    token = launcher.sign(claims_for(platform, nonce))
    response = client.post(
        reverse("lti-launch", args=[other.slug]), {"id_token": token, "state": state}
    )
    _assert_refused(response, 403, before)


def test_target_in_another_space_is_refused(launcher, course, trainer):
    from tests.classrooms.conftest import build_course

    elsewhere = SpaceFactory()
    foreign = build_course(
        trainer=UserFactory(roles=["trainer"], spaces=[elsewhere]), space=elsewhere
    )
    before = _counts()
    response = launcher.launch(
        **{CLAIM + "custom": {"lyceum_target": f"course:{foreign.course.pk}"}}
    )
    _assert_refused(response, 404, before)


def test_paused_platform_is_refused(launcher, course, platform):
    platform.is_active = False
    platform.save()
    response = launcher.client.get(
        reverse("lti-login", args=[launcher.slug]),
        {"iss": platform.issuer, "client_id": platform.client_id, "login_hint": "x"},
    )
    assert response.status_code == 400


def test_unknown_issuer_at_login_is_refused(client, space, platform):
    response = client.get(
        reverse("lti-login", args=[space.slug]),
        {"iss": "https://nobody.example.test", "login_hint": "x", "client_id": "c"},
    )
    assert response.status_code == 400
    assert client.get(reverse("lti-login", args=[space.slug])).status_code == 400


def test_launch_rejects_get_and_unknown_space(client, space):
    assert client.get(reverse("lti-launch", args=[space.slug])).status_code == 405
    assert client.post(reverse("lti-launch", args=["no-such-space"])).status_code == 404


def test_jwks_publishes_the_space_key_and_rotation_keeps_the_old_one(client, space):
    from lti.tool import key_create, signing_key

    first = client.get(reverse("lti-jwks", args=[space.slug])).json()["keys"]
    assert len(first) == 1 and first[0]["alg"] == "RS256" and first[0]["kid"]
    assert "d" not in first[0]  # public only
    new = key_create(space=space)
    keys = client.get(reverse("lti-jwks", args=[space.slug])).json()["keys"]
    assert {k["kid"] for k in keys} == {first[0]["kid"], new.kid}
    assert signing_key(space).kid == new.kid


def test_rotate_key_command_publishes_both_then_retires_the_old(client, space):
    from django.core.management import call_command

    from lti.tool import signing_key

    old = signing_key(space).kid
    call_command("lti_rotate_key", space.slug)
    new = signing_key(space).kid
    assert new != old
    jwks = reverse("lti-jwks", args=[space.slug])
    assert {k["kid"] for k in client.get(jwks).json()["keys"]} == {old, new}
    call_command("lti_rotate_key", space.slug, "--retire-old")
    assert [k["kid"] for k in client.get(jwks).json()["keys"]] == [new]
