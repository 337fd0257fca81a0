"""xAPI: learning events become statements sent to Ralph (a real learning record store);
nothing is lost while it is down; a command replays a period."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from classrooms.services import activity_complete, attempt_start, attempt_submit
from integrations import xapi
from integrations.models import ForwardStatus, LearningRecordStore, Statement, StatementForward
from tests.classrooms.conftest import right_answers

# Ralph starts in a few seconds on an idle machine, much later on a loaded one.
pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]

ADL = "http://adlnet.gov/expapi/verbs/"


def test_learning_events_reach_ralph_as_statements(
    built, learner, space, lrs, ralph, run_tasks, commit, settings
):
    commit()  # the enrolment happened before the store was configured
    activity_complete(user=learner, activity=built.lesson, source="test")
    attempt = attempt_start(user=learner, activity=built.quiz)
    answers = right_answers(built)
    answers[str(built.questions[3].pk)] = 999  # one wrong: 75 %, the pass mark
    attempt_submit(user=learner, attempt=attempt, answers=answers)
    run_tasks()
    stored = ralph.statements()
    verbs = sorted(s["verb"]["id"].removeprefix(ADL) for s in stored)
    assert verbs == ["answered"] * 4 + ["completed"] * 2 + ["passed"]
    assert Statement.objects.count() == 7
    assert not StatementForward.objects.filter(status=ForwardStatus.PENDING).exists()
    passed = next(s for s in stored if s["verb"]["id"] == ADL + "passed")
    assert passed["actor"]["account"] == {"homePage": settings.SITE_URL, "name": str(learner.pk)}
    assert passed["result"]["score"] == {"scaled": 0.75, "raw": 75, "min": 0, "max": 100}
    assert passed["result"]["success"] is True
    ctx = passed["context"]["contextActivities"]
    assert ctx["parent"][0]["id"] == f"{settings.SITE_URL}{built.course.get_absolute_url()}"
    assert ctx["grouping"][0]["definition"]["name"] == {"und": space.name}
    answered = [s for s in stored if s["verb"]["id"] == ADL + "answered"]
    assert sorted(s["result"]["success"] for s in answered) == [False, True, True, True]
    # Ralph answers queries on them too
    found = {s["id"] for s in ralph.query(limit=100)["statements"]}
    assert found == {s["id"] for s in stored}


def test_no_store_no_statement(built, learner, run_tasks, commit):
    commit()
    activity_complete(user=learner, activity=built.lesson, source="test")
    run_tasks()
    assert not Statement.objects.exists()


def _synthetic(n: int, space, learner) -> None:
    now = timezone.now().isoformat()
    statements = [
        {
            "id": str(uuid.uuid4()),
            "actor": xapi.actor(learner),
            "verb": {"id": ADL + "experienced", "display": {"en-US": "experienced"}},
            "object": {"objectType": "Activity", "id": f"https://lyceum.test/items/{i}"},
            "context": xapi.context(space=space),
            "timestamp": now,
        }
        for i in range(n)
    ]
    xapi.statements_store(statements=statements, space_id=space.pk, user_id=learner.pk)


def test_ralph_stopped_mid_stream_loses_nothing(
    space, learner, lrs, ralph, run_tasks, commit, settings, monkeypatch
):
    settings.INTEGRATIONS_XAPI_BATCH = 50
    settings.INTEGRATIONS_XAPI_RETRIES = [30, 60]
    settings.INTEGRATIONS_HTTP_TIMEOUT = 3
    _synthetic(300, space, learner)
    real_post = xapi._post
    posts = []

    def post_then_stop(client, url, statements):
        posts.append(len(statements))
        if len(posts) == 3:
            ralph.stop()  # Ralph goes away after two batches
        return real_post(client, url, statements)

    monkeypatch.setattr(xapi, "_post", post_then_stop)
    run_tasks()
    assert len(ralph.statements()) == 100
    pending = StatementForward.objects.filter(status=ForwardStatus.PENDING)
    assert pending.count() == 200
    lrs.refresh_from_db()
    assert lrs.failure_streak == 1 and "ConnectError" in lrs.last_error
    assert lrs.next_try_at > timezone.now() + timedelta(seconds=25)
    retry = DBTaskResult.objects.filter(task_path__endswith="xapi_send_job", status="READY")
    assert retry.count() == 1 and retry.get().run_after == lrs.next_try_at
    # a new event meanwhile does not hammer the store before its back-off ends
    _synthetic(10, space, learner)
    run_tasks()
    assert len(posts) == 3 and pending.count() == 210
    # Ralph is back; the retry comes due
    ralph.start()
    LearningRecordStore.objects.filter(pk=lrs.pk).update(next_try_at=timezone.now())
    retry.update(run_after=timezone.now())
    run_tasks()
    ids = [s["id"] for s in ralph.statements()]
    assert len(ids) == len(set(ids)) == 310
    assert set(ids) == {str(i) for i in Statement.objects.values_list("pk", flat=True)}
    assert not pending.exists()
    lrs.refresh_from_db()
    assert lrs.failure_streak == 0 and lrs.next_try_at is None


def test_a_failing_or_hanging_store_is_retried_later(space, learner, receiver, run_tasks, settings):
    settings.INTEGRATIONS_HTTP_TIMEOUT = 0.5
    settings.INTEGRATIONS_XAPI_RETRIES = [0, 3600]  # the third try is an hour away
    receiver.hang_seconds = 2
    store = LearningRecordStore.objects.create(space=space, name="flaky", endpoint=receiver.url)
    receiver.plan = [503, "hang"]
    _synthetic(5, space, learner)
    run_tasks()
    store.refresh_from_db()
    # 503, then a timeout: still pending, the next try scheduled after the back-off
    assert receiver.hits == 2
    assert StatementForward.objects.filter(status=ForwardStatus.PENDING).count() == 5
    assert store.failure_streak == 2 and "Timeout" in store.last_error
    assert store.next_try_at > timezone.now() + timedelta(minutes=59)


def test_replay_a_period(space, learner, lrs, ralph, run_tasks):
    _synthetic(20, space, learner)
    run_tasks()
    assert len(ralph.statements()) == 20
    for path in ralph.data.glob("*.jsonl"):
        path.unlink()  # the store lost its data
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    call_command("xapi_replay", "--since", since, "--store", str(lrs.pk))
    run_tasks()
    assert len(ralph.statements()) == 20
    call_command("xapi_replay", "--since", since, "--now")
    assert len(ralph.statements()) == 20  # Ralph keeps one copy of each id


def test_a_completion_with_a_store_costs_the_request_one_exists_and_one_enqueue(
    built, learner, lrs, commit
):
    commit()
    activity_complete(user=learner, activity=built.lesson, source="test")
    with CaptureQueriesContext(connection) as ctx:
        commit()
    ours = [
        q["sql"]
        for q in ctx.captured_queries
        if "integrations_" in q["sql"] or "django_tasks_database" in q["sql"]
    ]
    assert len(ours) == 2, ours
    assert not any("integrations_statement" in q for q in ours)


def test_sender_throughput_to_ralph(space, learner, lrs, ralph, settings, capsys):
    """The figure in docs/INTEGRATIONS.md: statements a second, one sender, batches of 100."""
    import time

    settings.INTEGRATIONS_XAPI_BATCH = 100
    _synthetic(2000, space, learner)
    started = time.monotonic()
    sent = xapi.xapi_send(store_id=lrs.pk)
    elapsed = time.monotonic() - started
    assert sent == 2000 and len(ralph.statements()) == 2000
    with capsys.disabled():
        print(
            f"\nxAPI sender -> Ralph: {sent} statements in {elapsed:.2f} s = {sent / elapsed:.0f}/s"
        )
    assert sent / elapsed > 20


def test_time_the_listener_adds_to_a_request(built, learner, space, capsys):
    """The figure in docs/INTEGRATIONS.md: the listener's wall time per event (EXISTS +
    enqueue), and without any integration (EXISTS only)."""
    import time

    from integrations.services import on_event

    LearningRecordStore.objects.create(space=space, name="x", endpoint="http://127.0.0.1:9/")
    payload = {"user": learner, "activity": built.lesson}
    figures = {}
    for label in ("with a store", "without"):
        if label == "without":
            LearningRecordStore.objects.all().delete()
        on_event("classrooms.activity_completed", payload)
        started = time.perf_counter()
        for _ in range(200):
            on_event("classrooms.activity_completed", payload)
        figures[label] = (time.perf_counter() - started) / 200 * 1000
    with capsys.disabled():
        print("\nlistener per event: " + ", ".join(f"{k} {v:.2f} ms" for k, v in figures.items()))
    assert figures["with a store"] < 50
