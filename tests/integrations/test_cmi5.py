"""cmi5 AUs on the server: the launch query, the one-time fetch URL, the token-authenticated
xAPI resources (statements, LMS.LaunchData, learner preferences) with CORS for the
sandboxed frame only, moveOn completing the activity, and what is refused (nothing stored).
The browser side (an AU playing in Chromium) is tests/e2e/test_cmi5_play.py."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from classrooms import services as classroom_services
from classrooms.models import Activity, ActivityKind, Completion
from integrations.cmi5 import VERB_LAUNCHED, VERB_SATISFIED
from integrations.models import PackageAttempt, Statement, StatementSource
from tests.integrations.scorm_builders import CMI5_AU_SCRIPT, cmi5_package
from tests.integrations.test_package_activities import _launch, _upload

pytestmark = pytest.mark.django_db
V = {"HTTP_X_EXPERIENCE_API_VERSION": "1.0.3", "HTTP_ORIGIN": "null"}
AU = "https://lyceum.test/au/1"


@pytest.fixture(autouse=True)
def package_root(settings, tmp_path):
    settings.INTEGRATIONS_PACKAGE_ROOT = str(tmp_path / "packages")


@pytest.fixture
def activity(trainer, built):
    response = _upload(trainer, built, cmi5_package(CMI5_AU_SCRIPT))
    assert response.status_code == 302
    return Activity.objects.get(course=built.course, kind=ActivityKind.PACKAGE)


class Launch:
    """One launch as the AU sees it: the query, then the token it fetched."""

    def __init__(self, user, activity) -> None:
        self.data = _launch(user, activity.packages.get().units.get())
        self.url = self.data["content_url"]
        self.q = {k: v[0] for k, v in parse_qs(urlsplit(self.url).query).items()}
        self.client = Client()  # the frame: no session
        self.token = ""

    def path(self, url: str) -> str:
        return urlsplit(url).path

    def fetch(self):
        return self.client.post(self.path(self.q["fetch"]), HTTP_ORIGIN="null")

    def login(self) -> Launch:
        response = self.fetch()
        assert response.status_code == 200, response.content
        self.token = response.json()["auth-token"]
        return self

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {**V, "HTTP_AUTHORIZATION": f"Basic {token or self.token}"}

    def statement(self, verb: str, **over) -> dict:
        return {
            "actor": json.loads(self.q["actor"]),
            "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}"},
            "object": {"objectType": "Activity", "id": self.q["activityId"]},
            "context": {"registration": self.q["registration"]},
            **over,
        }

    def post(self, body, token: str | None = None, raw: bool = False):
        return self.client.post(
            self.path(self.q["endpoint"]) + "statements",
            body if raw else json.dumps(body),
            content_type="application/json",
            **self.auth(token),
        )

    def state(self, state_id="LMS.LaunchData", **over):
        params = {
            "stateId": state_id,
            "activityId": self.q["activityId"],
            "agent": self.q["actor"],
            "registration": self.q["registration"],
            **over,
        }
        return self.path(self.q["endpoint"]) + "activities/state", params


def _content() -> int:
    return Statement.objects.filter(source=StatementSource.CONTENT).count()


def test_launch_fetch_launchdata_statements_complete_the_activity(learner, activity):
    launch = Launch(learner, activity)
    q = launch.q
    assert set(q) == {"endpoint", "fetch", "registration", "activityId", "actor"}
    assert q["activityId"] == AU and q["endpoint"].endswith("/api/v1/cmi5/xapi/")
    actor = json.loads(q["actor"])
    assert actor["account"]["name"] == str(learner.pk) and "mbox" not in actor
    assert learner.email not in launch.url
    attempt = PackageAttempt.objects.get(user=learner)
    assert str(attempt.registration) == q["registration"]
    assert secret_not_stored(attempt, q["fetch"])
    launched = Statement.objects.get(verb=VERB_LAUNCHED)
    assert launched.data["context"]["registration"] == q["registration"]
    assert launched.object_id == AU
    # The AU's page is served as it is (no SCORM bridge).
    page = launch.client.get(launch.path(launch.url))
    assert page.status_code == 200
    assert b"__lyceum__" not in b"".join(page.streaming_content)

    response = launch.fetch()
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "null"
    launch.token = response.json()["auth-token"]
    attempt.refresh_from_db()
    assert attempt.fetch_used and attempt.token_hash and launch.token not in attempt.token_hash
    again = launch.fetch()  # replayed: cmi5's error JSON
    assert again.status_code == 400 and again.json()["error-code"] == "1"

    path, params = launch.state()
    data = launch.client.get(path, params, **launch.auth())
    assert data.status_code == 200, data.content
    body = data.json()
    assert body["moveOn"] == "CompletedAndPassed" and body["launchMode"] == "Normal"
    assert body["returnURL"].endswith(f"/packages/activities/{activity.pk}/?unit={attempt.unit_id}")
    template = body["contextTemplate"]
    assert template["extensions"]["https://w3id.org/xapi/cmi5/context/extensions/sessionid"]
    prefs = launch.client.get(
        launch.path(q["endpoint"]) + "agents/profile",
        {"agent": q["actor"], "profileId": "cmi5LearnerPreferences"},
        **launch.auth(),
    )
    assert prefs.status_code == 200 and "languagePreference" in prefs.json()

    assert launch.post(launch.statement("initialized")).status_code == 200
    assert launch.post(launch.statement("completed")).status_code == 200
    assert not Completion.objects.filter(user=learner, activity=activity).exists()
    passed = launch.statement("passed", result={"success": True, "score": {"scaled": 0.9}})
    ids = launch.post(passed).json()
    assert len(ids) == 1
    put = launch.client.put(
        launch.path(q["endpoint"]) + "statements?statementId=0d3f7a52-4f0c-4a5e-9c3b-3c1b2a9e8f70",
        json.dumps(launch.statement("terminated")),
        content_type="application/json",
        **launch.auth(),
    )
    assert put.status_code == 204, put.content
    attempt.refresh_from_db()
    assert (attempt.completion_status, attempt.success_status) == ("completed", "passed")
    assert attempt.score_scaled == 0.9 and attempt.finished_at is not None
    assert Completion.objects.filter(user=learner, activity=activity).exists()
    satisfied = Statement.objects.get(verb=VERB_SATISFIED)
    assert satisfied.object_id == "https://lyceum.test/c/1"
    assert _content() == 4


def secret_not_stored(attempt, fetch_url: str) -> bool:
    secret = urlsplit(fetch_url).path.rstrip("/").rsplit("/", 1)[-1]
    return secret not in attempt.fetch_secret and len(attempt.fetch_secret) == 64


def test_cors_answers_the_opaque_origin_on_the_cmi5_resources_only(learner, activity):
    launch = Launch(learner, activity)
    preflight = launch.client.options(
        launch.path(launch.q["endpoint"]) + "statements",
        HTTP_ORIGIN="null",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "null"
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight
    other = launch.client.options(reverse("api-package-attempt", args=[launch.data["attempt"]]),
                                  HTTP_ORIGIN="null")  # fmt: skip
    assert "Access-Control-Allow-Origin" not in other
    elsewhere = launch.client.options(launch.path(launch.q["endpoint"]) + "statements",
                                      HTTP_ORIGIN="https://evil.test")  # fmt: skip
    assert "Access-Control-Allow-Origin" not in elsewhere


@pytest.fixture
def other_launch(space, trainer, built, activity):
    from hub.accounts.models import Role
    from tests.factories import UserFactory

    other = UserFactory(username="learner2", roles=[Role.LEARNER], spaces=[space])
    classroom_services.enrolment_create(actor=trainer, user=other, course=built.course)
    return Launch(other, activity).login()


@pytest.mark.parametrize(
    "case",
    ["no_token", "bad_token", "other_token", "other_actor", "other_registration",
     "no_registration", "malformed", "lms_verb", "no_version", "mbox_actor", "bad_put_id"],
)  # fmt: skip
def test_bad_statements_are_refused_and_nothing_is_stored(learner, activity, other_launch, case):
    launch = Launch(learner, activity).login()
    before = _content()
    completed = launch.statement("completed")
    endpoint = launch.path(launch.q["endpoint"]) + "statements"
    if case == "no_token":
        response = launch.client.post(endpoint, json.dumps(completed),
                                      content_type="application/json", **V)  # fmt: skip
        assert response.status_code == 401
    elif case == "bad_token":
        assert launch.post(completed, token="forged").status_code == 401
    elif case == "other_token":  # another learner's token, this learner's statement
        assert launch.post(completed, token=other_launch.token).status_code == 403
    elif case == "other_actor":
        stranger = {"objectType": "Agent", "account": {"homePage": "https://x.test", "name": "1"}}
        assert launch.post({**completed, "actor": stranger}).status_code == 403
    elif case == "other_registration":
        ctx = {"registration": other_launch.q["registration"]}
        assert launch.post({**completed, "context": ctx}).status_code == 403
    elif case == "no_registration":
        assert launch.post({**completed, "context": {}}).status_code == 403
    elif case == "malformed":
        assert launch.post('{"actor": ', raw=True).status_code == 400
        assert launch.post([completed, {"verb": "x"}]).status_code == 400
    elif case == "lms_verb":
        sat = {**completed, "verb": {"id": "https://w3id.org/xapi/adl/verbs/satisfied"}}
        assert launch.post([completed, sat]).status_code == 403
    elif case == "no_version":
        response = launch.client.post(endpoint, json.dumps(completed),
                                      content_type="application/json",
                                      HTTP_AUTHORIZATION=f"Basic {launch.token}")  # fmt: skip
        assert response.status_code == 400
    elif case == "mbox_actor":
        actor = {**completed["actor"], "mbox": "mailto:x@y.test"}
        assert launch.post({**completed, "actor": actor}).status_code == 403
    elif case == "bad_put_id":
        response = launch.client.put(endpoint + "?statementId=nope", json.dumps(completed),
                                     content_type="application/json", **launch.auth())  # fmt: skip
        assert response.status_code == 400
    assert _content() == before
    attempt = PackageAttempt.objects.get(user=learner)
    assert attempt.completion_status == "" and attempt.success_status == ""
    assert not Completion.objects.filter(activity=activity).exists()


def test_state_and_profile_are_the_launchs_own(learner, activity, other_launch):
    launch = Launch(learner, activity).login()
    path, params = launch.state()
    assert launch.client.get(path, params, **launch.auth(other_launch.token)).status_code == 403
    others = [
        {"activityId": "https://x.test/au"},
        {"registration": other_launch.q["registration"]},
        {"agent": other_launch.q["actor"]},
    ]
    for bad in others:
        assert launch.client.get(path, {**params, **bad}, **launch.auth()).status_code == 403
    assert launch.client.get(path, {**params, "agent": "{"}, **launch.auth()).status_code == 400
    # LaunchData is the LMS's; the AU's own documents round-trip.
    put = launch.client.put(path + "?" + _qs(params), "{}", content_type="application/json",
                            **launch.auth())  # fmt: skip
    assert put.status_code == 403
    mine = {**params, "stateId": "bookmark"}
    assert launch.client.get(path, mine, **launch.auth()).status_code == 404
    put = launch.client.put(path + "?" + _qs(mine), '{"page": 3}',
                            content_type="application/json", **launch.auth())  # fmt: skip
    assert put.status_code == 204
    assert launch.client.get(path, mine, **launch.auth()).json() == {"page": 3}
    bad = launch.client.put(path + "?" + _qs(mine), "{nope", content_type="application/json",
                            **launch.auth())  # fmt: skip
    assert bad.status_code == 400
    profile = launch.path(launch.q["endpoint"]) + "agents/profile"
    other = {"agent": other_launch.q["actor"], "profileId": "cmi5LearnerPreferences"}
    assert launch.client.get(profile, other, **launch.auth()).status_code == 403


def _qs(params: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def test_a_relaunch_makes_a_new_fetch_and_the_old_token_dies(learner, activity):
    first = Launch(learner, activity).login()
    assert first.post(first.statement("initialized")).status_code == 200
    second = Launch(learner, activity)
    assert second.data["resumed"] is True
    assert second.q["registration"] == first.q["registration"]  # the same attempt
    assert first.post(first.statement("completed")).status_code == 401
    second.login()
    assert second.post(second.statement("completed")).status_code == 200
    assert first.fetch().status_code == 400  # the old fetch URL is gone


def test_a_satisfied_attempt_is_finished_and_the_next_launch_is_a_new_registration(
    learner, activity
):
    launch = Launch(learner, activity).login()
    launch.post([launch.statement("completed"),
                 launch.statement("passed", result={"score": {"scaled": 0.7}})])  # fmt: skip
    again = Launch(learner, activity)
    assert again.data["resumed"] is False and again.data["number"] == 2
    assert again.q["registration"] != launch.q["registration"]


def test_failed_then_moveon_not_met(learner, activity):
    launch = Launch(learner, activity).login()
    launch.post([launch.statement("completed"),
                 launch.statement("failed", result={"score": {"scaled": 0.2}})])  # fmt: skip
    attempt = PackageAttempt.objects.get(user=learner)
    assert (attempt.completion_status, attempt.success_status) == ("completed", "failed")
    assert not Completion.objects.filter(activity=activity).exists()
    assert not Statement.objects.filter(verb=VERB_SATISFIED).exists()


@pytest.mark.timeout(600)
def test_the_aus_statements_and_lyceums_reach_the_record_store(
    learner, activity, lrs, ralph, run_tasks
):
    """Ralph (an LRS none of us wrote) gets launched, the AU's statements and satisfied."""
    launch = Launch(learner, activity).login()
    passed = launch.statement("passed", result={"success": True, "score": {"scaled": 1}})
    assert launch.post([launch.statement("completed"), passed]).status_code == 200
    run_tasks()
    stored = ralph.statements()
    # A set: Ralph's file backend may write a batch twice (see docs/INTEGRATIONS.md).
    verbs = {s["verb"]["id"].rsplit("/", 1)[-1] for s in stored}
    assert verbs == {"completed", "launched", "passed", "satisfied"}
    assert {s["id"] for s in stored} == {
        str(pk) for pk in Statement.objects.values_list("id", flat=True)
    }
    cmi5_ones = [s for s in stored if s["object"]["id"].startswith("https://lyceum.test/")]
    assert len({s["id"] for s in cmi5_ones}) == 4  # and Lyceum's activity completed besides
    assert {s["context"]["registration"] for s in cmi5_ones} == {launch.q["registration"]}
