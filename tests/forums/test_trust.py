"""Trust levels (forums/trust.py): promotion and demotion, each limit at each level, flags
that hide a post at a weighted threshold, the moderator's decision, races, REST and page."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections, connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from notifications.models import Notification

from forums import services, trust
from forums.models import Flag, Post, ThreadEvent, TrustChange, TrustLevel
from forums.tasks import recompute_trust_levels
from hub.accounts.models import Role
from hub.api import RateLimited
from tests.factories import UserFactory
from tests.forums.conftest import age

pytestmark = pytest.mark.django_db

ROOMY = {"POSTS_PER_MINUTE": 10_000, "THREADS_PER_HOUR": 10_000, "NEW_POSTS_PER_HOUR": 10_000}


def member(space, name: str, level: int | None = None, days: float = 60):
    user = UserFactory(username=name, roles=[Role.LEARNER], spaces=[space])
    if level is not None:
        age(user, days=days, level=level)
    return user


def stored_level(user, space) -> int:
    return TrustLevel.objects.get(user=user, space=space).level


# -- promotion and demotion ------------------------------------------------------------------
@override_settings(LYCEUM_FORUMS=ROOMY)
def test_reading_posting_likes_and_time_promote_step_by_step(space, forum, veteran):
    age(veteran, level=4)
    newbie = member(space, "newbie")
    assert trust.level_of(user=newbie, space=space) == 0
    threads = [
        services.thread_create(author=veteran, forum=forum, title=f"T{i}", body="x")
        for i in range(10)
    ]
    for thread in threads:
        for n in range(5):
            services.post_create(author=veteran, thread=thread, body=f"reply {n}")
    # Time alone is not enough: a day old, nothing read.
    type(newbie).objects.filter(pk=newbie.pk).update(date_joined=timezone.now() - timedelta(days=8))
    newbie.refresh_from_db()
    assert trust.trust_recompute(user=newbie, space=space).level == 0
    # Reading three topics (10 posts or more) reaches level 1.
    for thread in threads[:3]:
        services.thread_mark_read(user=newbie, thread=thread, post_id=10**12)
    assert trust.trust_recompute(user=newbie, space=space).level == 1
    # Level 2: 10 topics, 50 posts read, 5 days visited, 3 posts written, a like received.
    for thread in threads:
        services.thread_mark_read(user=newbie, thread=thread, post_id=10**12)
    from forums.models import TrustVisit

    for d in range(1, 5):
        TrustVisit.objects.create(user=newbie, space=space, day=timezone.localdate() - timedelta(d))
    posts = [
        services.post_create(author=newbie, thread=threads[0], body=f"mine {i}") for i in range(3)
    ]
    assert stored_level(newbie, space) == 1  # no like received yet
    services.post_react(user=newbie, post=posts[0], emoji="like")  # one's own like: no
    assert trust.trust_recompute(user=newbie, space=space).level == 1
    services.post_react(user=veteran, post=posts[0], emoji="like")
    assert trust.trust_recompute(user=newbie, space=space).level == 2
    history = list(TrustChange.objects.filter(user=newbie).order_by("id"))
    assert [(c.old_level, c.new_level, c.reason) for c in history] == [
        (0, 1, "promoted"),
        (1, 2, "promoted"),
    ]
    assert Notification.objects.filter(recipient=newbie, data__kind="forums.trust").count() == 2


def test_events_recompute_the_level(space, forum, veteran, commit):
    age(veteran, level=4)
    thread = services.thread_create(author=veteran, forum=forum, title="T", body="x")
    reader = member(space, "reader", level=None)
    type(reader).objects.filter(pk=reader.pk).update(date_joined=timezone.now() - timedelta(2))
    reader.refresh_from_db()
    with override_settings(LYCEUM_FORUMS={**ROOMY}):
        trust.trust_settings_set(
            actor=UserFactory(username="root", roles=[Role.ADMIN]),
            space=space,
            requirements={"1": {"topics_read": 1, "posts_read": 1}},
            flag_hide_weight=None,
        )
        services.thread_mark_read(user=reader, thread=thread, post_id=10**12)
        commit()  # the recomputation runs once the read mark is committed
    assert stored_level(reader, space) == 1


def test_upheld_flags_demote_and_nothing_else_does(space, forum, veteran, trainer):
    age(veteran, level=4)
    author = member(space, "author", level=2)
    thread = services.thread_create(author=author, forum=forum, title="Mine", body="hello")
    post = thread.posts.get()
    admin = UserFactory(username="root", roles=[Role.ADMIN])
    # Thresholds raised: a level once reached stays.
    trust.trust_settings_set(
        actor=admin,
        space=space,
        requirements={"1": {"topics_read": 999}, "2": {"posts_read": 9999}},
        flag_hide_weight=None,
    )
    assert trust.trust_recompute(user=author, space=space).level == 2
    # An upheld flag, where the space allows none at level 1: down to 0.
    zero = dict.fromkeys(trust.REQUIREMENT_LABELS, 0)
    trust.trust_settings_set(
        actor=admin,
        space=space,
        requirements={"1": zero, "2": zero},
        flag_hide_weight=None,
    )
    assert trust.trust_recompute(user=author, space=space).level == 2
    flag = services.post_flag(reporter=veteran, post=post, reason="spam")
    services.flag_resolve(moderator=trainer, flag=flag, hide=True)
    assert trust.trust_recompute(user=author, space=space).level == 0
    change = TrustChange.objects.filter(user=author).first()
    assert (change.old_level, change.new_level, change.reason) == (2, 0, "demoted")


def test_staff_are_level_4_and_pins_win(space, coordinator, trainer):
    learner = member(space, "pinned", level=0)
    assert trust.level_of(user=trainer, space=space) == 4
    trust.trust_pin(actor=coordinator, user=learner, space=space, level=3)
    assert trust.level_of(user=learner, space=space) == 3
    trust.trust_recompute(user=learner, space=space)
    assert trust.level_of(user=learner, space=space) == 3  # the pin holds
    trust.trust_pin(actor=coordinator, user=learner, space=space, level=None)
    assert trust.level_of(user=learner, space=space) == 0
    reasons = list(TrustChange.objects.filter(user=learner).values_list("reason", flat=True))
    assert reasons == ["unpinned", "pinned"]
    with pytest.raises(PermissionDenied):
        trust.trust_pin(actor=learner, user=learner, space=space, level=4)
    with pytest.raises(ValidationError):
        trust.trust_pin(actor=coordinator, user=learner, space=space, level=5)


@override_settings(LYCEUM_FORUMS=ROOMY)
def test_the_periodic_job_promotes_by_time(space, forum, veteran, run_tasks):
    age(veteran, level=4)
    thread = services.thread_create(author=veteran, forum=forum, title="T", body="x")
    for n in range(10):
        services.post_create(author=veteran, thread=thread, body=f"{n}")
    reader = member(space, "slow")
    trust.trust_settings_set(
        actor=UserFactory(username="root", roles=[Role.ADMIN]),
        space=space,
        requirements={"1": {"days": 3, "topics_read": 1}},
        flag_hide_weight=None,
    )
    services.thread_mark_read(user=reader, thread=thread, post_id=10**12)
    assert trust.trust_recompute(user=reader, space=space).level == 0  # too young
    type(reader).objects.filter(pk=reader.pk).update(date_joined=timezone.now() - timedelta(4))
    recompute_trust_levels.enqueue()
    assert run_tasks() >= 1
    assert stored_level(reader, space) == 1


# -- limits at each level ------------------------------------------------------------------------
SAMPLES = {
    "links": lambda n: " ".join(f"https://l{i}.com" for i in range(n)) or "text",
    "images": lambda n: " ".join(f"![i](https://x.example/{i}.png)" for i in range(n)) or "text",
    "mentions": lambda n: " ".join(f"@someone{i}" for i in range(n)) or "text",
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@pytest.mark.parametrize("level", [0, 1, 2, 3, 4])
@override_settings(LYCEUM_FORUMS=ROOMY)
def test_each_post_limit_at_each_level(space, thread, kind, level):
    writer = member(space, "writer", level=level)
    cap = trust.limit_at(kind, level)
    allowed = cap if cap is not None else 60
    services.post_create(author=writer, thread=thread, body=SAMPLES[kind](allowed))
    if cap is None:
        return
    with pytest.raises(ValidationError) as exc:
        services.post_create(author=writer, thread=thread, body=SAMPLES[kind](cap + 1))
    message = exc.value.message_dict["body"][0]
    assert f"trust level {level}" in message
    needed = trust.level_needed(kind, cap + 1)
    if needed is None:  # no level allows so many
        assert "allows it" not in message
    else:
        assert f"Level {needed} allows it" in message


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4])
@override_settings(LYCEUM_FORUMS=ROOMY)
def test_new_threads_per_day_at_each_level(space, forum, level):
    writer = member(space, "opener", level=level)
    cap = trust.limit_at("threads_per_day", level)
    for i in range(cap if cap is not None else 25):
        services.thread_create(author=writer, forum=forum, title=f"t{i}", body="x")
    if cap is None:
        return
    with pytest.raises(RateLimited, match=f"level {level} you may open {cap} threads a day"):
        services.thread_create(author=writer, forum=forum, title="one more", body="x")


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4])
def test_editing_others_wiki_posts_needs_the_wiki_level(space, thread, learner, level):
    post = thread.posts.get()
    services.post_set_wiki(user=learner, post=post, on=True)
    editor = member(space, "editor", level=level)
    if level >= 1:
        edited = services.post_edit(editor=editor, post=post, body=f"improved by {level}")
        assert edited.body == f"improved by {level}"
        assert edited.revisions.count() == 1
    else:
        with pytest.raises(PermissionDenied, match="needs trust level 1; you are at level 0"):
            services.post_edit(editor=editor, post=post, body="vandal")
        post.refresh_from_db()
        assert post.body == "First post"


def test_only_the_author_or_a_moderator_makes_a_wiki(space, thread, learner2, trainer):
    post = thread.posts.get()
    with pytest.raises(PermissionDenied):
        services.post_set_wiki(user=learner2, post=post, on=True)
    assert services.post_set_wiki(user=trainer, post=post, on=True).is_wiki
    # Not a wiki: others may not edit it, whatever their level.
    services.post_set_wiki(user=trainer, post=post, on=False)
    age(learner2, level=4)
    with pytest.raises(PermissionDenied):
        services.post_edit(editor=learner2, post=post, body="no")


# -- flags that hide -----------------------------------------------------------------------------
def test_flags_from_new_members_do_not_hide(space, thread, published):
    post = thread.posts.get()
    for i in range(5):
        services.post_flag(reporter=member(space, f"new{i}"), post=post, reason="spam")
    post.refresh_from_db()
    assert not post.is_hidden
    assert Flag.objects.filter(post=post, status="open", weight=0).count() == 5
    assert not [e for e in published(thread.topic) if e.type == "post.hidden"]


def test_trusted_members_flags_hide_at_the_threshold(space, thread, trainer, published):
    post = thread.posts.get()
    services.post_flag(reporter=member(space, "m1", level=1), post=post, reason="spam")
    services.post_flag(reporter=member(space, "m2", level=2), post=post, reason="spam")
    post.refresh_from_db()
    assert not post.is_hidden  # weight 2 of 3
    services.post_flag(reporter=member(space, "m3", level=1), post=post, reason="offensive")
    post.refresh_from_db()
    assert post.is_hidden and post.hidden_by_flags
    events = [e for e in published(thread.topic) if e.type == "post.hidden"]
    assert len(events) == 1 and events[0].data["body_html"] == ""
    assert Notification.objects.filter(recipient=trainer, data__kind="forums.flagged").exists()


def test_a_leaders_flag_weighs_more(space, thread):
    post = thread.posts.get()
    services.post_flag(reporter=member(space, "leader", level=4), post=post, reason="spam")
    post.refresh_from_db()
    assert post.is_hidden  # weight 3


def test_the_space_sets_its_threshold(space, thread, coordinator):
    trust.trust_settings_set(actor=coordinator, space=space, requirements={}, flag_hide_weight=1)
    post = thread.posts.get()
    services.post_flag(reporter=member(space, "m1", level=1), post=post, reason="spam")
    post.refresh_from_db()
    assert post.is_hidden


def test_dismissing_restores_the_post(space, thread, trainer, published):
    post = thread.posts.get()
    flag = services.post_flag(reporter=member(space, "leader", level=4), post=post, reason="spam")
    services.flag_resolve(moderator=trainer, flag=flag, hide=False)
    post.refresh_from_db()
    assert not post.is_hidden and not post.hidden_by_flags
    assert Flag.objects.get(pk=flag.pk).status == "dismissed"
    assert [e.type for e in published(thread.topic)][-2:] == ["post.hidden", "post.restored"]


def test_upholding_keeps_it_hidden_and_counts_against_the_author(
    space, thread, learner, trainer, commit
):
    post = thread.posts.get()
    flag = services.post_flag(reporter=member(space, "leader", level=4), post=post, reason="spam")
    services.flag_resolve(moderator=trainer, flag=flag, hide=True, reason="spam indeed")
    commit()
    post.refresh_from_db()
    assert post.is_hidden and not post.hidden_by_flags
    assert Flag.objects.get(pk=flag.pk).status == "acted"
    assert TrustLevel.objects.get(user=learner, space=space).stats["max_upheld_flags"] == 1


def test_only_moderators_decide(space, thread, learner2):
    post = thread.posts.get()
    flag = services.post_flag(reporter=member(space, "leader", level=4), post=post, reason="spam")
    with pytest.raises(PermissionDenied):
        services.flag_resolve(moderator=learner2, flag=flag, hide=False)
    post.refresh_from_db()
    assert post.is_hidden


# -- REST and page -------------------------------------------------------------------------------
def test_rest_progress_settings_and_pins(space, learner, coordinator, outsider, api_client_for):
    api = api_client_for(learner)
    r = api.get("/api/v1/forums/trust/", {"space": space.pk})
    assert r.status_code == 200
    assert r.json()["level"] == 0 and r.json()["next"] == 1
    assert {n["key"] for n in r.json()["needs"]} >= {"topics_read", "posts_read"}
    assert api.get("/api/v1/forums/trust/", {"space": "x"}).status_code == 400
    assert api.get("/api/v1/forums/trust/").status_code == 400
    other_space = outsider.space_memberships.get().space_id
    assert api.get("/api/v1/forums/trust/", {"space": other_space}).status_code == 404
    url = f"/api/v1/forums/trust/spaces/{space.pk}/"
    body = {"requirements": {"1": {"topics_read": 1}}, "flag_hide_weight": 2}
    assert api.put(url, body, format="json").status_code == 403
    boss = api_client_for(coordinator)
    bad = {"requirements": {"9": {"topics_read": 1}}, "flag_hide_weight": 2}
    assert boss.put(url, bad, format="json").status_code == 400
    bad = {"requirements": {"1": {"nonsense": 1}}, "flag_hide_weight": 2}
    assert boss.put(url, bad, format="json").status_code == 400
    r = boss.put(url, body, format="json")
    assert r.status_code == 200 and r.json()["requirements"]["1"]["topics_read"] == 1
    assert r.json()["flag_hide_weight"] == 2
    pins = f"/api/v1/forums/trust/spaces/{space.pk}/pins/"
    assert api.post(pins, {"user": learner.pk, "level": 4}, format="json").status_code == 403
    assert boss.post(pins, {"user": outsider.pk, "level": 4}, format="json").status_code == 404
    assert boss.post(pins, {"user": learner.pk, "level": 7}, format="json").status_code == 400
    r = boss.post(pins, {"user": learner.pk, "level": 3}, format="json")
    assert r.status_code == 200 and r.json()["level"] == 3 and r.json()["pinned"]
    member_url = f"/api/v1/forums/trust/spaces/{space.pk}/members/{learner.pk}/"
    assert boss.get(member_url).json()["level"] == 3
    assert api.get(member_url).status_code == 403


@override_settings(LYCEUM_FORUMS=ROOMY)
def test_rest_says_the_limit_and_the_level(space, thread, learner2, api_client_for):
    api = api_client_for(learner2)
    url = f"/api/v1/forums/threads/{thread.pk}/posts/"
    r = api.post(url, {"body": "https://a.com https://b.com https://c.com"})
    assert r.status_code == 400
    assert "trust level 0" in str(r.json()) and "Level 1 allows it" in str(r.json())
    post = thread.posts.get()
    wiki = f"/api/v1/forums/posts/{post.pk}/wiki/"
    assert api.post(wiki, {"on": True}, format="json").status_code == 403
    assert api.post(wiki, {"on": "maybe"}, format="json").status_code == 400
    assert api.post("/api/v1/forums/posts/999999/wiki/", {"on": True}).status_code == 404


def test_the_rules_page(client, space, learner, coordinator):
    client.force_login(learner)
    page = client.get(reverse("forum-trust")).content.decode()
    assert 'data-testid="trust-rules"' in page and "Level 0" in page
    assert 'data-testid="trust-admin"' not in page
    assert client.post(reverse("forum-trust"), {"action": "pin"}).status_code == 403
    client.force_login(coordinator)
    page = client.get(reverse("forum-trust")).content.decode()
    assert 'data-testid="trust-admin"' in page
    r = client.post(
        f"{reverse('forum-trust')}?space={space.pk}",
        {"action": "pin", "username": learner.username, "level": "2"},
    )
    assert r.status_code == 302
    assert trust.level_of(user=learner, space=space) == 2


# -- races (PostgreSQL) ---------------------------------------------------------------------------
def run_all(calls) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(calls))

    def worker(fn) -> None:
        try:
            barrier.wait()
            fn()
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(fn,)) for fn in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.SERVICES_MODE, reason="row locks need PostgreSQL")
def test_two_flags_at_once_count_once_each_and_hide_once(space, forum, coordinator):
    author = member(space, "author", level=1)
    thread = services.thread_create(author=author, forum=forum, title="T", body="x")
    post = thread.posts.get()
    trust.trust_settings_set(actor=coordinator, space=space, requirements={}, flag_hide_weight=2)
    a, b = member(space, "a", level=1), member(space, "b", level=1)
    errors = run_all(
        [lambda u=u: services.post_flag(reporter=u, post=post, reason="spam") for u in (a, b)]
    )
    assert errors == []
    assert list(Flag.objects.filter(post=post).values_list("weight", flat=True)) == [1, 1]
    assert Post.objects.get(pk=post.pk).is_hidden
    assert ThreadEvent.objects.filter(post=post, type="post.hidden").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.SERVICES_MODE, reason="row locks need PostgreSQL")
def test_the_same_flag_twice_at_once_counts_once(space, forum):
    author = member(space, "author", level=1)
    thread = services.thread_create(author=author, forum=forum, title="T", body="x")
    post = thread.posts.get()
    a = member(space, "a", level=2)
    errors = run_all([lambda: services.post_flag(reporter=a, post=post, reason="spam")] * 2)
    assert errors == []
    assert Flag.objects.filter(post=post).count() == 1
    assert not Post.objects.get(pk=post.pk).is_hidden
