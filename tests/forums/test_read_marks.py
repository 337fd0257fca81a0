"""Unread and new counts (issue 15, forums): what each reader has not read yet, per thread
and per forum; marks only move forward, by POST, and only on threads one may read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from forums.models import Thread, ThreadRead
from forums.selectors import forum_threads_for_reader, forums_for, forums_with_unread
from forums.services import post_create, thread_create, thread_mark_read
from tests.forums.conftest import age

pytestmark = pytest.mark.django_db


def _row(forum, user, thread):
    return forum_threads_for_reader(forum=forum, user=user).get(pk=thread.pk)


def _forum(forum, user):
    return forums_with_unread(forums=forums_for(user=user), user=user).get(pk=forum.pk)


def test_a_thread_is_new_until_opened_then_counts_posts_after_the_mark(
    forum, thread, learner, learner2
):
    age(learner2)
    row = _row(forum, learner2, thread)
    assert row.is_new and row.unread == 0
    assert (_forum(forum, learner2).new_threads, _forum(forum, learner2).unread_threads) == (1, 0)
    # Its author has read it; their own thread is never new to them.
    mine = _row(forum, learner, thread)
    assert not mine.is_new and mine.unread == 0

    first = thread.posts.get()
    assert thread_mark_read(user=learner2, thread=thread, post_id=first.pk) == first.pk
    assert not _row(forum, learner2, thread).is_new

    post_create(author=learner, thread=thread, body="Second")
    post_create(author=learner, thread=thread, body="Third")
    row = _row(forum, learner2, thread)
    assert (row.is_new, row.unread) == (False, 2)
    assert (_forum(forum, learner2).new_threads, _forum(forum, learner2).unread_threads) == (0, 1)
    # The writer's own replies are read by them.
    assert _row(forum, learner, thread).unread == 0


def test_marks_only_move_forward_and_stop_at_the_last_post(forum, thread, learner, learner2):
    age(learner2)
    second = post_create(author=learner, thread=thread, body="Second")
    assert thread_mark_read(user=learner2, thread=thread, post_id=second.pk + 10_000) == second.pk
    first = thread.posts.order_by("id").first()
    assert thread_mark_read(user=learner2, thread=thread, post_id=first.pk) == second.pk  # late tab
    assert ThreadRead.objects.get(user=learner2, thread=thread).last_read_post_id == second.pk


def test_an_old_thread_nobody_opened_is_not_new(forum, thread, learner2):
    Thread.objects.filter(pk=thread.pk).update(created_at=timezone.now() - timedelta(days=30))
    assert not _row(forum, learner2, thread).is_new
    assert _forum(forum, learner2).new_threads == 0


def test_queries_do_not_grow_with_the_threads(forum, learner, learner2, settings):
    age(learner)
    settings.LYCEUM_FORUMS = {"POSTS_PER_MINUTE": 100, "NEW_POSTS_PER_HOUR": 100}

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            list(forum_threads_for_reader(forum=forum, user=learner2)[:30])
            list(forums_with_unread(forums=forums_for(user=learner2), user=learner2))
        return len(queries)

    thread_create(author=learner, forum=forum, title="One", body="x")
    count()  # warms what the process caches (spaces of a user)
    few = count()
    for n in range(8):
        thread_create(author=learner, forum=forum, title=f"T{n}", body="x")
    assert count() == few


def test_rest_marks_by_post_only_on_readable_threads(
    api_client_for, forum, thread, learner, learner2, outsider
):
    age(learner2)
    url = f"/api/v1/forums/threads/{thread.pk}/read/"
    first = thread.posts.get()
    client = api_client_for(learner2)
    assert client.get(url).status_code == 405  # no state change on GET
    r = client.post(url, {"post_id": first.pk}, format="json")
    assert r.status_code == 200 and r.json() == {"post_id": first.pk}
    listed = client.get(f"/api/v1/forums/{forum.pk}/threads/").json()["results"]
    assert listed[0]["unread"] == 0 and listed[0]["is_new"] is False
    forums = client.get("/api/v1/forums/").json()
    assert next(f for f in forums if f["id"] == forum.pk)["new_threads"] == 0

    for bad in ({"post_id": -1}, {"post_id": "x"}, {"post_id": 2**64}, {}):
        assert client.post(url, bad, format="json").status_code == 400, bad
    assert (
        api_client_for(outsider).post(url, {"post_id": first.pk}, format="json").status_code == 404
    )
    assert not ThreadRead.objects.filter(user=outsider).exists()


def test_pages_show_the_counts_and_open_the_composer_on_demand(client, forum, thread, learner2):
    age(learner2)
    client.force_login(learner2)
    page = client.get("/forums/").content.decode()
    assert 'data-testid="forum-new"' in page
    page = client.get(f"/forums/{forum.pk}/").content.decode()
    assert 'data-testid="thread-new"' in page
    assert '<details class="card composer" data-testid="thread-composer">' in page  # closed
    assert not ThreadRead.objects.filter(user=learner2).exists()  # GETs marked nothing
    client.get(f"/forums/threads/{thread.pk}/")
    assert not ThreadRead.objects.filter(user=learner2).exists()
    page = client.post(f"/forums/{forum.pk}/", {"title": "", "body": ""}).content.decode()
    assert 'data-testid="thread-composer" open' in page  # errors: shown open
