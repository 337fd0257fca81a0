"""LTI Advantage against a platform none of us wrote (``lti1p3platform`` from PyPI, run by
tests/peers/lti_platform.py): scores and completions reach its line items through its
token endpoint (our client assertion checked against our JWKS), rosters come from its
membership service, and LTI Dynamic Registration stores it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings
from django.urls import reverse

from classrooms import services as classrooms
from classrooms.models import Enrolment
from hub.accounts.models import Role
from lti.models import ContextLink, LtiIdentity, Platform, ResourceLink, ScoreSend
from lti.services import SCORE_SCOPE, person_link, platform_create, roster_sync
from lti.tool import space_jwks
from tests.peers import lti_platform, peer_json

PEOPLE = {
    "s-1": {"name": "Sam Student", "email": "sam@peer.test", "role": "learner"},
    "s-2": {"name": "Sue Student", "email": "sue@peer.test", "role": "learner"},
    "t-1": {"name": "Tess Teacher", "email": "tess@peer.test", "role": "instructor"},
    "x-1": {"name": "Gone", "email": "gone@peer.test", "role": "learner", "status": "Deleted"},
}


@pytest.fixture(scope="module")
def peer():
    with lti_platform(people=PEOPLE, registration_token="reg-token-1") as base:
        yield base


class JwksServer:
    """Our JWKS over HTTP for the peer (the same JSON /lti/<space>/jwks/ answers)."""

    def __init__(self) -> None:
        self.body = b"{}"
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(server.body)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/jwks"


@pytest.fixture(scope="module")
def jwks_server():
    server = JwksServer()
    yield server
    server.http.shutdown()


@pytest.fixture
def peer_platform(peer, jwks_server, space, admin, course) -> Platform:
    jwks_server.body = json.dumps(space_jwks(space)).encode()
    peer_json(
        f"{peer}/_tool",
        "POST",
        {
            "client_id": "lyceum-peer",
            "deployment_id": "dep-1",
            "launch_url": "http://testserver/lti/test-space/launch/",
            "login_url": "http://testserver/lti/test-space/login/",
            "jwks_url": jwks_server.url,
        },
    )
    return platform_create(
        actor=admin,
        space=space,
        name="Peer",
        issuer=peer,
        client_id="lyceum-peer",
        deployment_ids=["dep-1"],
        auth_login_url=f"{peer}/auth",
        auth_token_url=f"{peer}/token",
        key_set_url=f"{peer}/jwks",
    )


def _link(platform: Platform, kind: str, ident: int, rl: str) -> ResourceLink:
    return ResourceLink.objects.create(
        platform=platform,
        resource_link_id=rl,
        target_kind=kind,
        target_id=ident,
        lineitem_url=f"{platform.issuer}/lineitems/{rl}",
        lineitems_url=f"{platform.issuer}/lineitems",
        ags_scopes=[SCORE_SCOPE],
    )


def _scores(peer: str, lineitem: str) -> list[dict]:
    return [s for s in peer_json(f"{peer}/_state")["scores"] if s["lineitem"] == lineitem]


def test_completion_of_a_launched_lesson_reaches_the_line_item(
    peer, peer_platform, course, run_tasks
):
    user = person_link(platform=peer_platform, subject="s-1", name="Sam Student")
    Enrolment.objects.create(user=user, course=course.course, source="admin")
    _link(peer_platform, "activity", course.lesson.pk, "rl-lesson")
    classrooms.activity_complete(user=user, activity=course.lesson, source="test")
    assert run_tasks() >= 2  # the outcome job, then the send job
    [score] = _scores(peer, "rl-lesson")
    assert score["userId"] == "s-1"
    assert score["scoreGiven"] == 100 and score["scoreMaximum"] == 100
    assert score["activityProgress"] == "Completed"
    assert score["gradingProgress"] == "FullyGraded"
    row = ScoreSend.objects.get()
    assert row.status == "sent" and row.attempts == 1


@override_settings(LTI_SCORE_RETRIES=[0, 0])
def test_a_platform_answering_503_gets_the_score_on_a_later_try(
    peer, peer_platform, course, run_tasks
):
    user = person_link(platform=peer_platform, subject="s-2", name="Sue Student")
    Enrolment.objects.create(user=user, course=course.course, source="admin")
    _link(peer_platform, "activity", course.media.pk, "rl-media")
    peer_json(f"{peer}/_fail?count=1", "POST", {})
    classrooms.activity_complete(user=user, activity=course.media, source="test")
    run_tasks()
    row = ScoreSend.objects.get()
    assert row.status == "sent"
    assert row.attempts == 2
    assert len(_scores(peer, "rl-media")) == 1


@override_settings(LTI_SCORE_RETRIES=[])
def test_a_platform_that_keeps_failing_marks_the_score_failed(
    peer, peer_platform, course, run_tasks
):
    user = person_link(platform=peer_platform, subject="s-3")
    Enrolment.objects.create(user=user, course=course.course, source="admin")
    _link(peer_platform, "activity", course.optional.pk, "rl-optional")
    peer_json(f"{peer}/_fail?count=1", "POST", {})
    classrooms.activity_complete(user=user, activity=course.optional, source="test")
    run_tasks()
    row = ScoreSend.objects.get()
    assert row.status == "failed" and row.last_error == "HTTP 503"
    assert _scores(peer, "rl-optional") == []


def test_people_who_never_came_through_lti_enqueue_nothing(course, learner, commit):
    from django_tasks_db.models import DBTaskResult

    Enrolment.objects.create(user=learner, course=course.course, source="admin")
    classrooms.activity_complete(user=learner, activity=course.lesson, source="test")
    commit()
    assert not DBTaskResult.objects.filter(task_path__startswith="lti.").exists()
    assert ScoreSend.objects.count() == 0


def test_roster_becomes_enrolments(peer, peer_platform, course, space):
    context = ContextLink.objects.create(
        platform=peer_platform,
        context_id="ctx-1",
        course=course.course,
        memberships_url=f"{peer}/memberships/ctx-1",
    )
    counts = roster_sync(context_id=context.pk)
    assert counts == {"members": 3, "enrolled": 2, "trainers": 1, "skipped": 1}
    by_sub = {i.subject: i.user for i in LtiIdentity.objects.select_related("user")}
    assert set(by_sub) == {"s-1", "s-2", "t-1"}
    assert Enrolment.objects.filter(course=course.course, user=by_sub["s-1"]).exists()
    assert Enrolment.objects.filter(course=course.course, user=by_sub["s-2"]).exists()
    assert by_sub["t-1"].has_role(Role.TRAINER)
    assert course.course.trainers.filter(pk=by_sub["t-1"].pk).exists()
    assert by_sub["s-1"].email == "sam@peer.test"
    # Pulling again changes nothing.
    enrolments = Enrolment.objects.count()
    roster_sync(context_id=context.pk)
    assert Enrolment.objects.count() == enrolments
    assert LtiIdentity.objects.count() == 3


def test_roster_refused_by_the_platform_changes_nothing(
    peer, peer_platform, course, space, jwks_server
):
    from django.core.exceptions import ValidationError

    from lti.tool import key_create

    # The platform holds an old copy of our JWKS: it cannot verify our new key's assertion
    # and refuses the token.
    key_create(space=space)
    context = ContextLink.objects.create(
        platform=peer_platform,
        context_id="ctx-1",
        course=course.course,
        memberships_url=f"{peer}/memberships/ctx-1",
    )
    with pytest.raises(ValidationError):
        roster_sync(context_id=context.pk)
    assert LtiIdentity.objects.count() == 0
    context.refresh_from_db()
    assert context.last_roster_result


def test_roster_button_enqueues_the_job(peer, peer_platform, course, admin, client, run_tasks):
    context = ContextLink.objects.create(
        platform=peer_platform,
        context_id="ctx-1",
        course=course.course,
        memberships_url=f"{peer}/memberships/ctx-1",
    )
    client.force_login(admin)
    url = reverse("lti-roster", args=[peer_platform.space.slug, context.pk])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    assert LtiIdentity.objects.count() == 0  # nothing in the request itself
    run_tasks()
    assert LtiIdentity.objects.count() == 3


def test_roster_button_is_for_admins_of_the_space(peer_platform, course, learner, client, peer):
    context = ContextLink.objects.create(
        platform=peer_platform, context_id="c", course=course.course, memberships_url=peer
    )
    client.force_login(learner)
    url = reverse("lti-roster", args=[peer_platform.space.slug, context.pk])
    assert client.post(url).status_code == 404


def test_dynamic_registration_stores_the_platform(peer, space, admin, client):
    client.force_login(admin)
    url = reverse("lti-register", args=[space.slug])
    query = {
        "openid_configuration": f"{peer}/.well-known/openid-configuration",
        "registration_token": "reg-token-1",
    }
    page = client.get(url, query)
    assert page.status_code == 200 and Platform.objects.count() == 0  # GET changes nothing
    response = client.post(url, query)
    assert response.status_code == 200, response.content[:500]
    assert b"lti-registered" in response.content
    platform = Platform.objects.get()
    assert platform.issuer == peer
    assert platform.client_id.startswith("dyn-")
    assert platform.deployment_ids == ["dep-dyn"]
    assert platform.auth_token_url == f"{peer}/token"
    sent = peer_json(f"{peer}/_state")["registrations"][-1]
    assert sent["initiate_login_uri"].endswith(f"/lti/{space.slug}/login/")
    assert sent["jwks_uri"].endswith(f"/lti/{space.slug}/jwks/")
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in sent["scope"]


def test_dynamic_registration_with_a_bad_token_or_config_stores_nothing(
    peer, space, admin, client, learner
):
    client.force_login(admin)
    url = reverse("lti-register", args=[space.slug])
    config = f"{peer}/.well-known/openid-configuration"
    bad = client.post(url, {"openid_configuration": config, "registration_token": "wrong"})
    assert bad.status_code == 400
    missing = client.post(url, {"openid_configuration": f"{peer}/nothing-here"})
    assert missing.status_code == 400
    not_url = client.post(url, {"openid_configuration": "file:///etc/passwd"})
    assert not_url.status_code == 400
    assert Platform.objects.count() == 0
    client.force_login(learner)
    assert client.post(url, {"openid_configuration": config}).status_code == 403
    assert Platform.objects.count() == 0


def test_roster_command_pulls_every_context_of_a_space(peer, peer_platform, course, space):
    from django.core.management import call_command

    ContextLink.objects.create(
        platform=peer_platform,
        context_id="ctx-1",
        course=course.course,
        memberships_url=f"{peer}/memberships/ctx-1",
    )
    call_command("lti_roster", "--space", space.slug)
    assert LtiIdentity.objects.count() == 3


def test_a_completion_costs_the_request_one_exists_and_one_enqueue(
    peer_platform, course, learner, commit
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cost(user, activity) -> list[str]:
        classrooms.activity_complete(user=user, activity=activity, source="test")
        with CaptureQueriesContext(connection) as ctx:
            commit()
        return [q["sql"] for q in ctx.captured_queries if '"lti_' in q["sql"]]

    Enrolment.objects.create(user=learner, course=course.course, source="admin")
    commit()
    assert len(cost(learner, course.lesson)) == 1  # EXISTS: not an LTI person, no job
    launched = person_link(platform=peer_platform, subject="s-9")
    Enrolment.objects.create(user=launched, course=course.course, source="admin")
    commit()
    ours = cost(launched, course.lesson)
    assert len([q for q in ours if "lti_ltiidentity" in q]) == 1
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(task_path="lti.tasks.lti_outcome_job").count() == 1
    assert not any("lti_resourcelink" in q or "lti_scoresend" in q for q in ours)
