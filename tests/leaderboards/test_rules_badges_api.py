"""REST for what used to be admin-only: a space's point rules, badge definitions (with an
image upload), a person's badges; and all of it in the OpenAPI schema."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from hub.accounts.models import Role
from leaderboards import services
from leaderboards.models import BadgeAward, BadgeDefinition, PointRule, Reason
from tests.factories import SpaceFactory, UserFactory

pytestmark = pytest.mark.django_db


def rules_url(space) -> str:
    return f"/api/v1/leaderboards/spaces/{space.pk}/point-rules/"


@pytest.fixture
def stranger_trainer(db):
    """A trainer, of another space."""
    return UserFactory(username="trainer9", roles=[Role.TRAINER], spaces=[SpaceFactory()])


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def png(size: tuple[int, int] = (64, 64), fmt: str = "PNG", name: str = "b.png") -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(data, fmt)
    data.seek(0)
    data.name = name
    return data


# -- point rules ------------------------------------------------------------------------------
def test_members_read_the_whole_table_of_point_rules(api_client_for, learner, outsider, space):
    PointRule.objects.create(space=space, reason=Reason.QUIZ_PASSED, amount=33)
    r = api_client_for(learner).get(rules_url(space))
    assert r.status_code == 200
    rules = {row["reason"]: row for row in r.json()}
    assert set(rules) == set(Reason.values)
    assert rules["quiz_passed"] | {"label": ""} == {
        "reason": "quiz_passed",
        "label": "",
        "amount": 33,
        "default": 20,
        "custom": True,
    }
    assert (rules["lesson_done"]["amount"], rules["lesson_done"]["custom"]) == (10, False)
    assert api_client_for(outsider).get(rules_url(space)).status_code == 403
    assert (
        api_client_for(learner).get("/api/v1/leaderboards/spaces/999999/point-rules/").status_code
        == 404
    )


def test_a_trainer_sets_the_rules_and_the_next_award_pays_them(
    api_client_for, trainer, learner, space, commit
):
    r = api_client_for(trainer).patch(
        rules_url(space),
        {
            "rules": [
                {"reason": "quiz_passed", "amount": 30},
                {"reason": "lesson_done", "amount": 0},
            ]
        },
        format="json",
    )
    assert r.status_code == 200, r.json()
    rules = {row["reason"]: row["amount"] for row in r.json()}
    assert (rules["quiz_passed"], rules["lesson_done"]) == (30, 0)
    award = services.points_award(
        user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space
    )
    assert award.amount == 30
    # A rule of 0 pays nothing (the event is still recorded, at 0 points, for the badges).
    zero = services.points_award(user=learner, reason=Reason.LESSON_DONE, source=space, space=space)
    assert zero.amount == 0


def test_one_rule_set_and_reset_to_its_default(api_client_for, coordinator, space):
    client = api_client_for(coordinator)
    r = client.put(f"{rules_url(space)}attendance/", {"amount": 40}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["amount"] == 40 and r.json()["custom"] is True
    r = client.delete(f"{rules_url(space)}attendance/")
    assert r.status_code == 200
    assert r.json() == r.json() | {"amount": 15, "default": 15, "custom": False}
    assert not PointRule.objects.filter(space=space).exists()
    assert (
        client.put(f"{rules_url(space)}bribery/", {"amount": 4}, format="json").status_code == 404
    )


@pytest.mark.parametrize(
    "rules",
    [
        [{"reason": "quiz_passed", "amount": -5}],
        [{"reason": "quiz_passed", "amount": 10_000_000}],
        [{"reason": "bribery", "amount": 5}],
        [{"reason": "quiz_passed", "amount": "lots"}],
        [{"reason": "quiz_passed", "amount": 5}, {"reason": "quiz_passed", "amount": 6}],
        # One good rule beside a bad one: nothing is written.
        [{"reason": "lesson_done", "amount": 12}, {"reason": "quiz_passed", "amount": -1}],
        [],
    ],
)
def test_bad_rules_are_refused_and_change_nothing(api_client_for, trainer, space, rules):
    r = api_client_for(trainer).patch(rules_url(space), {"rules": rules}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid"
    assert not PointRule.objects.exists()


def test_the_service_checks_amounts_itself(trainer, space):
    from django.core.exceptions import ValidationError

    for bad in ({"quiz_passed": -1}, {"quiz_passed": True}, {"nope": 1}, {}):
        with pytest.raises(ValidationError):
            services.point_rules_set(actor=trainer, space=space, amounts=bad)
    assert not PointRule.objects.exists()


def test_only_the_spaces_trainers_and_coordinators_write_rules(
    api_client_for, learner, manager, stranger_trainer, space
):
    body = {"rules": [{"reason": "quiz_passed", "amount": 50}]}
    for person in (learner, manager):
        r = api_client_for(person).patch(rules_url(space), body, format="json")
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # A trainer of another space reaches nothing here.
    assert (
        api_client_for(stranger_trainer).patch(rules_url(space), body, format="json").status_code
        == 403
    )
    assert (
        api_client_for(stranger_trainer).delete(f"{rules_url(space)}quiz_passed/").status_code
        == 403
    )
    assert not PointRule.objects.exists()


# -- badge definitions ------------------------------------------------------------------------
def test_badge_definitions_are_created_listed_changed_and_deleted(
    api_client_for, trainer, learner, space
):
    client = api_client_for(trainer)
    r = client.post(
        "/api/v1/leaderboards/badges/",
        {
            "space": space.pk,
            "name": "Quiz ace",
            "description": "Five quizzes",
            "criterion": "events",
            "reason": "quiz_passed",
            "threshold": 5,
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    badge = r.json()
    assert (badge["criterion"], badge["reason"], badge["threshold"]) == ("events", "quiz_passed", 5)
    assert badge["image"] == "" and badge["image_url"].endswith(f"/badges/{badge['id']}/image.svg")
    assert badge["holders"] == 0 and "5" in badge["criteria_narrative"]
    listed = api_client_for(learner).get(f"/api/v1/leaderboards/badges/?space={space.pk}").json()
    assert [b["name"] for b in listed] == ["Quiz ace"]
    url = f"/api/v1/leaderboards/badges/{badge['id']}/"
    assert api_client_for(learner).get(url).json()["name"] == "Quiz ace"
    # Switching to another criterion drops the reason it no longer counts.
    r = client.patch(url, {"criterion": "points", "threshold": 100}, format="json")
    assert r.status_code == 200, r.json()
    assert (r.json()["criterion"], r.json()["reason"], r.json()["threshold"]) == ("points", "", 100)
    assert client.delete(url).status_code == 204
    assert not BadgeDefinition.objects.exists()


def test_a_held_badge_is_not_deleted(api_client_for, trainer, learner, space):
    badge = BadgeDefinition.objects.create(space=space, name="Helper")
    services.badge_award_manual(actor=trainer, user=learner, badge=badge)
    r = api_client_for(trainer).delete(f"/api/v1/leaderboards/badges/{badge.pk}/")
    assert r.status_code == 400
    assert BadgeAward.objects.filter(badge=badge).exists()


def test_a_course_badge_counts_a_course_of_its_own_space(
    api_client_for, trainer, space, course_setup
):
    client = api_client_for(trainer)
    body = {
        "space": space.pk,
        "name": "Safe",
        "criterion": "course",
        "course": course_setup.course.pk,
    }
    r = client.post("/api/v1/leaderboards/badges/", body, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["course"] == course_setup.course.pk
    assert "Safety first" in r.json()["criteria_narrative"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "criterion": "telepathy"},
        {"name": "X", "criterion": "events"},  # which reason?
        {"name": "X", "criterion": "events", "reason": "bribery"},
        {"name": "X", "threshold": 0},
        {"name": "X", "threshold": 10**9},
        {"name": "X", "threshold": -3},
        {"name": "   "},
        {"name": "X" * 121},
        {"name": "X", "criterion": "course", "course": 999999},
        {"description": "no name"},
    ],
)
def test_bad_badge_definitions_are_refused(api_client_for, trainer, space, body):
    r = api_client_for(trainer).post(
        "/api/v1/leaderboards/badges/", {"space": space.pk, **body}, format="json"
    )
    assert r.status_code == 400, r.json()
    assert r.json()["error"]["code"] == "invalid"
    assert not BadgeDefinition.objects.exists()


def test_a_course_of_another_space_is_refused(api_client_for, trainer, space):
    from tests.classrooms.conftest import build_course

    elsewhere = SpaceFactory()
    other_trainer = UserFactory(roles=[Role.TRAINER], spaces=[elsewhere])
    course = build_course(trainer=other_trainer, space=elsewhere).course
    r = api_client_for(trainer).post(
        "/api/v1/leaderboards/badges/",
        {"space": space.pk, "name": "X", "criterion": "course", "course": course.pk},
        format="json",
    )
    assert r.status_code == 400 and "course" in r.json()["error"]["details"]
    assert not BadgeDefinition.objects.exists()


def test_badges_of_someone_elses_space_are_out_of_reach(
    api_client_for, learner, stranger_trainer, trainer, space
):
    badge = BadgeDefinition.objects.create(space=space, name="Helper", threshold=1)
    client = api_client_for(stranger_trainer)
    r = client.post(
        "/api/v1/leaderboards/badges/", {"space": space.pk, "name": "Mine"}, format="json"
    )
    assert r.status_code == 403
    url = f"/api/v1/leaderboards/badges/{badge.pk}/"
    assert client.get(url).status_code == 403
    assert client.patch(url, {"name": "Taken"}, format="json").status_code == 403
    assert client.delete(url).status_code == 403
    # A learner of the space reads, does not write.
    assert api_client_for(learner).patch(url, {"name": "Mine"}, format="json").status_code == 403
    r = api_client_for(learner).post(
        "/api/v1/leaderboards/badges/", {"space": space.pk, "name": "M"}, format="json"
    )
    assert r.status_code == 403
    badge.refresh_from_db()
    assert badge.name == "Helper" and BadgeDefinition.objects.count() == 1


def test_an_uploaded_image_is_stored_and_served(api_client_for, trainer, space):
    r = api_client_for(trainer).post(
        "/api/v1/leaderboards/badges/",
        {"space": space.pk, "name": "Shiny", "image": png()},
        format="multipart",
    )
    assert r.status_code == 201, r.json()
    image = r.json()["image"]
    assert image.startswith("/media/leaderboards/badges/") and image.endswith(".png")
    assert r.json()["image_url"] == image
    # /media/ is served from the MEDIA_ROOT of start-up: read the stored file instead.
    stored = BadgeDefinition.objects.get().image
    with stored.open("rb") as f, Image.open(f) as picture:
        assert picture.format == "PNG" and picture.size == (64, 64)
    # Removing it brings the drawn one back.
    url = f"/api/v1/leaderboards/badges/{r.json()['id']}/"
    r = api_client_for(trainer).patch(url, {"image": None}, format="json")
    assert r.status_code == 200 and r.json()["image"] == ""
    assert r.json()["image_url"].endswith("/image.svg")


def _svg() -> io.BytesIO:
    data = io.BytesIO(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    data.name = "evil.svg"
    return data


def _text_as_png() -> io.BytesIO:
    data = io.BytesIO(b"<html>not an image</html>")
    data.name = "fake.png"
    return data


def _huge_png() -> io.BytesIO:
    # Noise does not compress: well over the 1 MB limit.
    import os

    data = io.BytesIO()
    Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3)).save(data, "PNG")
    data.seek(0)
    data.name = "huge.png"
    return data


@pytest.mark.parametrize(
    "make",
    [
        _svg,
        _text_as_png,
        _huge_png,
        lambda: png(fmt="BMP", name="old.bmp"),
        lambda: png(fmt="TIFF", name="scan.tiff"),
        lambda: png(size=(4000, 4), name="wide.png"),
    ],
    ids=["svg", "text", "too-large", "bmp", "tiff", "too-wide"],
)
def test_bad_images_are_refused(api_client_for, trainer, space, tmp_path, make):
    r = api_client_for(trainer).post(
        "/api/v1/leaderboards/badges/",
        {"space": space.pk, "name": "Shiny", "image": make()},
        format="multipart",
    )
    assert r.status_code == 400, r.json()
    assert "image" in r.json()["error"]["details"]
    assert not BadgeDefinition.objects.exists()
    assert not list(tmp_path.rglob("*.*"))


def test_a_bad_image_leaves_the_badge_as_it_was(api_client_for, trainer, space):
    badge = BadgeDefinition.objects.create(space=space, name="Helper")
    r = api_client_for(trainer).patch(
        f"/api/v1/leaderboards/badges/{badge.pk}/",
        {"name": "Renamed", "image": _text_as_png()},
        format="multipart",
    )
    assert r.status_code == 400
    badge.refresh_from_db()
    assert (badge.name, badge.image.name) == ("Helper", "")


# -- a person's badges ------------------------------------------------------------------------
def test_a_persons_badges_follow_the_badge_page_rule(
    api_client_for, trainer, learner, learner2, outsider, space
):
    badge = BadgeDefinition.objects.create(space=space, name="Helper")
    services.badge_award_manual(actor=trainer, user=learner, badge=badge)
    url = f"/api/v1/leaderboards/users/{learner.pk}/badges/"
    for viewer in (learner, learner2, trainer):
        r = api_client_for(viewer).get(url)
        assert r.status_code == 200
        assert [a["badge"]["name"] for a in r.json()] == ["Helper"]
    r = api_client_for(outsider).get(url)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (
        api_client_for(learner).get("/api/v1/leaderboards/users/999999/badges/").status_code == 404
    )


# -- the schema -------------------------------------------------------------------------------
def test_the_new_endpoints_are_in_the_openapi_schema(api_client_for, learner):
    schema = api_client_for(learner).get("/api/schema/?format=json").json()
    paths = schema["paths"]
    expected = {
        "/api/v1/leaderboards/spaces/{space_id}/point-rules/": {"get", "patch"},
        "/api/v1/leaderboards/spaces/{space_id}/point-rules/{reason}/": {"put", "delete"},
        "/api/v1/leaderboards/badges/": {"get", "post"},
        "/api/v1/leaderboards/badges/{id}/": {"get", "patch", "delete"},
        "/api/v1/leaderboards/users/{user_id}/badges/": {"get"},
        "/api/v1/leaderboards/badges/{id}/badge-class/": {"get"},
        "/api/v1/leaderboards/badges/{id}/image.svg": {"get"},
        "/api/v1/leaderboards/spaces/{id}/issuer/": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    badge_post = paths["/api/v1/leaderboards/badges/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in badge_post
    components = schema["components"]["schemas"]
    for name in ("PointRule", "BadgeDefinition", "OpenBadgeClass", "OpenBadgeIssuer"):
        assert name in components, name
    assert components["OpenBadgeAssertion"]["properties"]["badge"]["format"] == "uri"
