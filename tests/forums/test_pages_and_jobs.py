"""Pages of the forums, the constant-query thread page, the daily digest job, the demo."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from forums import services
from forums.models import Forum, LibraryItem, Post, Thread, ThreadEvent
from forums.selectors import my_reactions, post_payload, thread_posts
from hub.models import Delivery
from hub.notify import preference_set
from tests.forums.conftest import age

pytestmark = pytest.mark.django_db


def _bulk_thread(forum, author, n: int) -> Thread:
    from django.utils import timezone

    thread = Thread.objects.create(
        forum=forum, author=author, title="Long", last_activity_at=timezone.now()
    )
    Post.objects.bulk_create(
        Post(thread=thread, author=author, body=f"p{i}", body_html=f"<p>p{i}</p>") for i in range(n)
    )
    return thread


def test_pages_render(client, thread, learner, trainer):
    client.force_login(learner)
    for url in ("/forums/", thread.forum.get_absolute_url(), thread.get_absolute_url()):
        r = client.get(url)
        assert r.status_code == 200, url
        assert b'data-nav="forums"' in r.content
    r = client.get("/forums/search/?q=First")
    assert b"Hello" in r.content
    assert client.get("/forums/moderation/").status_code == 403
    client.force_login(trainer)
    assert client.get("/forums/moderation/").status_code == 200
    assert client.get("/forums/library/").status_code == 200


def test_reply_form_without_javascript(client, thread, learner2):
    age(learner2)
    client.force_login(learner2)
    r = client.post(thread.get_absolute_url(), {"body": "from a form"})
    assert r.status_code == 302 and "#post-" in r["Location"]
    assert thread.posts.filter(body="from a form").exists()


def test_thread_form_and_library_form(client, forum, learner, trainer, space):
    age(learner)
    client.force_login(learner)
    r = client.post(
        forum.get_absolute_url(),
        {"title": "From the page", "kind": "discussion", "tags": "a, b", "body": "x"},
    )
    assert r.status_code == 302
    assert Thread.objects.get(title="From the page").tags == ["a", "b"]
    r = client.post(
        "/forums/library/", {"kind": "link", "title": "L", "url": "https://example.com/x"}
    )
    item = LibraryItem.objects.get(title="L")
    assert r.status_code == 302 and item.status == "submitted"
    client.force_login(trainer)
    client.post(item.get_absolute_url(), {"action": "reject", "reason": "off topic"})
    item.refresh_from_db()
    assert item.status == "rejected" and item.rejection_reason == "off topic"


@pytest.mark.parametrize("page", [1, 20, 40])
def test_a_page_of_a_long_thread_takes_constant_queries(forum, learner, page):
    """Any page of a 2,000-post thread: the same few queries (bench/forums.py times it)."""
    from django.core.paginator import Paginator

    thread = _bulk_thread(forum, learner, 2000)
    with CaptureQueriesContext(connection) as ctx:
        page_obj = Paginator(thread_posts(thread=thread), 50).get_page(page)
        mine = my_reactions(user=learner, posts=page_obj.object_list)
        payloads = [post_payload(p, mine=mine.get(p.pk, ())) for p in page_obj.object_list]
    assert len(payloads) == 50
    assert len(ctx.captured_queries) == 4  # count, page, attachments, my reactions


def test_thread_page_and_api_query_counts_do_not_grow(client, forum, learner, api_client_for):
    thread = _bulk_thread(forum, learner, 400)
    client.force_login(learner)
    api = api_client_for(learner)
    counts = []
    for page in (1, 4, 8):
        with CaptureQueriesContext(connection) as page_ctx:
            assert client.get(f"{thread.get_absolute_url()}?page={page}").status_code == 200
        with CaptureQueriesContext(connection) as api_ctx:
            r = api.get(f"/api/v1/forums/threads/{thread.pk}/posts/?page={page}")
            assert r.status_code == 200
        counts.append((len(page_ctx.captured_queries), len(api_ctx.captured_queries)))
    assert len(set(counts)) == 1, counts


def test_daily_digest_is_sent_once(thread, learner2, veteran, run_tasks):
    from forums.tasks import send_forum_digests

    services.subscription_set(user=learner2, thread=thread, on=True)
    preference_set(user=learner2, kind="forums.digest", delivery=Delivery.IN_APP_AND_EMAIL)
    services.post_create(author=veteran, thread=thread, body="Digest me")
    send_forum_digests.enqueue()
    mail.outbox.clear()
    run_tasks()
    digests = [m for m in mail.outbox if m.to == [learner2.email] and "digest" in m.subject]
    assert len(digests) == 1 and "Digest me" in digests[0].body
    mail.outbox.clear()
    send_forum_digests.enqueue()
    run_tasks()
    assert not [m for m in mail.outbox if "digest" in m.subject]


def test_demo_seed_is_idempotent(space, django_user_model):
    from forums.demo import seed
    from tests.factories import UserFactory

    users = {
        name: UserFactory(username=f"demo-{name}", roles=[role], spaces=[space])
        for name, role in [
            ("admin", "admin"),
            ("coordinator", "coordinator"),
            ("trainer", "trainer"),
            ("manager", "manager"),
            ("learner", "learner"),
            ("learner2", "learner"),
        ]
    }
    seed(users=users, space=space)
    seed(users=users, space=space)
    assert Forum.objects.filter(space=space).count() == 2
    assert Thread.objects.filter(forum__space=space).count() == 3
    assert LibraryItem.objects.filter(status="submitted").count() == 1
    assert ThreadEvent.objects.filter(type="reaction.changed").exists()
