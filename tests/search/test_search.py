"""Search across chat, forums, the library and courses: who finds what, and the index
following every write (both engines: run with and without DATABASE_URL)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from classrooms.models import Course, Enrolment
from forums import services as forums
from forums.models import LibraryItem
from messaging import services as chat
from messaging.models import Attachment
from search import selectors
from search.fulltext import MARK_END, MARK_START
from search.models import SearchDocument
from search.query import QueryTooLong
from tests.forums.conftest import age

pytestmark = pytest.mark.django_db


# -- chat -----------------------------------------------------------------------------------
def test_members_find_messages_and_others_do_not(group, learner, learner2, outsider, find):
    chat.message_send(sender=learner, conversation=group, body="The pelican migrates south")
    hits = find(learner2, "pelican")
    assert [h.source for h in hits] == ["message"]
    assert hits[0].url.endswith(f"/chat/{group.pk}/#message-{hits[0].object_id}")
    assert hits[0].author == {"id": learner.pk, "name": learner.name}
    assert find(outsider, "pelican") == []


def test_a_removed_member_finds_nothing_of_the_conversation_any_more(
    group, trainer, learner, learner2, find
):
    chat.message_send(sender=learner, conversation=group, body="pelican one")
    chat.message_send(sender=learner2, conversation=group, body="pelican two")
    assert len(find(learner2, "pelican")) == 2
    chat.member_remove(actor=trainer, conversation=group, user=learner2)
    assert find(learner2, "pelican") == []
    assert find(learner2, "pelican", where="conversation", where_id=group.pk) == []
    assert len(find(learner, "pelican")) == 2


def test_an_edited_message_is_found_by_its_new_words_only(group, learner, learner2, find):
    message = chat.message_send(sender=learner, conversation=group, body="meet at the harbour")
    assert len(find(learner2, "harbour")) == 1
    chat.message_edit(editor=learner, message=message, body="meet at the station")
    assert find(learner2, "harbour") == []
    assert len(find(learner2, "station")) == 1


def test_a_deleted_message_disappears(group, trainer, learner, learner2, find):
    mine = chat.message_send(sender=learner, conversation=group, body="secret pelican plan")
    other = chat.message_send(sender=learner2, conversation=group, body="pelican reply")
    assert len(find(trainer, "pelican")) == 2
    chat.message_delete(actor=learner, message=mine)
    chat.message_delete(actor=trainer, message=other)  # a moderator's deletion
    assert find(trainer, "pelican") == []
    assert not SearchDocument.objects.filter(source="message").exists()


def test_script_in_a_message_is_escaped_and_only_the_marks_are_markup(group, learner, find):
    chat.message_send(
        sender=learner, conversation=group, body='<script>alert("pelican")</script> & pelican'
    )
    (hit,) = find(learner, "pelican")
    # (PostgreSQL's headline leaves tag-shaped words out of the excerpt; SQLite keeps them,
    # escaped. Either way no markup but the marks.)
    assert "<mark>pelican</mark>" in hit.snippet_html
    stripped = hit.snippet_html.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in stripped and ">" not in stripped
    assert "<script" not in hit.snippet_html


def test_highlighting_escapes_everything_but_the_marks():
    text = f'<script>alert("x")</script> & {MARK_START}pelican{MARK_END} {MARK_START}cut'
    assert selectors.highlighted(text) == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; <mark>pelican</mark> "
        "<mark>cut</mark>"
    )


def test_mark_characters_typed_in_a_message_are_not_markup(group, learner, find):
    chat.message_send(sender=learner, conversation=group, body="pelican \ue000<b>x\ue001")
    (hit,) = find(learner, "pelican")
    assert "<b>" not in hit.snippet_html
    assert hit.snippet_html.count("<mark>") == hit.snippet_html.count("</mark>") == 1


def test_has_attachment_filter(group, learner, find):
    chat.message_send(sender=learner, conversation=group, body="pelican without")
    with_file = chat.message_send(sender=learner, conversation=group, body="pelican with")
    Attachment.objects.create(
        uploader=learner,
        conversation=group,
        message=with_file,
        file="chat/x.png",
        name="x.png",
        size=1,
        content_type="image/png",
    )
    hits = find(learner, "pelican", has_attachment=True)
    assert [h.object_id for h in hits] == [with_file.pk]
    assert len(find(learner, "pelican", has_attachment=False)) == 1


# -- forums and library ---------------------------------------------------------------------
def test_forum_topics_and_posts_and_their_moderation(forum, learner, learner2, trainer, find):
    age(learner)
    thread = forums.thread_create(
        author=learner, forum=forum, title="Pelican colonies", body="Where do they nest?"
    )
    post = forums.post_create(author=learner2, thread=thread, body="On the pelican island")
    kinds = sorted(h.source for h in find(learner2, "pelican"))
    assert kinds == ["forum_post", "forum_topic"]
    forums.post_hide(moderator=trainer, post=post, reason="spam")
    assert [h.source for h in find(learner2, "pelican")] == ["forum_topic"]
    forums.post_restore(moderator=trainer, post=post)
    assert len(find(learner2, "island")) == 1
    forums.post_edit(editor=learner2, post=post, body="On the rocks")
    assert find(learner2, "island") == []
    forums.post_delete(actor=learner2, post=post)
    assert find(learner2, "rocks") == []


def test_other_spaces_forums_and_space_ids_find_nothing(forum, learner, elsewhere, find):
    other_space, member, their_forum = elsewhere
    forums.thread_create(author=member, forum=their_forum, title="Pelican talk", body="x")
    assert find(learner, "pelican") == []
    assert find(learner, "pelican", space_id=other_space.pk) == []
    assert find(learner, "pelican", where="forum", where_id=their_forum.pk) == []
    assert len(find(member, "pelican", space_id=other_space.pk)) == 1


def test_library_items_waiting_for_review_are_their_authors_only(space, learner, learner2, find):
    item = LibraryItem.objects.create(
        space=space, author=learner, kind="article", title="Pelican guide", body="beaks"
    )
    assert [h.source for h in find(learner, "pelican")] == ["library_item"]
    assert find(learner2, "pelican") == []
    item.status = LibraryItem.Status.APPROVED
    item.save()
    assert len(find(learner2, "pelican", where="library")) == 1


# -- courses --------------------------------------------------------------------------------
def test_a_private_course_is_found_by_its_people_only(space, learner, learner2, find):
    private = Course.objects.create(space=space, title="Pelican anatomy", summary="wings")
    open_course = Course.objects.create(
        space=space, title="Pelican flight", published=True, self_enrolment=True
    )
    Enrolment.objects.create(user=learner, course=private)
    assert {h.object_id for h in find(learner, "pelican")} == {private.pk, open_course.pk}
    assert [h.object_id for h in find(learner2, "pelican", where="course")] == [open_course.pk]
    assert find(learner2, "wings") == []


# -- query, filters, ranking ----------------------------------------------------------------
def test_author_and_date_filters(group, learner, learner2, find):
    mine = chat.message_send(sender=learner, conversation=group, body="pelican a")
    chat.message_send(sender=learner2, conversation=group, body="pelican b")
    assert [h.object_id for h in find(learner, "pelican", author_id=learner.pk)] == [mine.pk]
    today = timezone.localdate()
    assert len(find(learner, "pelican", date_from=today, date_to=today)) == 2
    assert find(learner, "pelican", date_to=today - timedelta(days=1)) == []
    assert find(learner, "pelican", date_from=today + timedelta(days=1)) == []


def test_prefix_as_you_type_phrases_and_exclusions(group, learner, find):
    chat.message_send(sender=learner, conversation=group, body="Pélican brun du Pérou")
    chat.message_send(sender=learner, conversation=group, body="pelican blanc")
    assert len(find(learner, "peli")) == 2  # the last word as a prefix
    assert find(learner, "peli ") == []  # a space ends the word
    assert len(find(learner, "perou")) == 1  # accents do not matter
    assert len(find(learner, '"pelican brun"')) == 1
    assert len(find(learner, "pelican -blanc")) == 1


def test_relevance_then_recency(group, learner, find):
    old = chat.message_send(sender=learner, conversation=group, body="pelican")
    new = chat.message_send(sender=learner, conversation=group, body="pelican")
    weak = chat.message_send(
        sender=learner, conversation=group, body="pelican " + "filler words " * 30
    )
    ids = [h.object_id for h in find(learner, "pelican")]
    assert ids.index(new.pk) < ids.index(old.pk)
    assert ids[-1] == weak.pk


def test_pagination(group, learner, run_tasks):
    for i in range(5):
        chat.message_send(sender=learner, conversation=group, body=f"pelican {i}")
    run_tasks()
    first = selectors.search(user=learner, query="pelican", page_size=2)
    third = selectors.search(user=learner, query="pelican", page=3, page_size=2)
    assert first.has_next and len(first.hits) == 2
    assert not third.has_next and len(third.hits) == 1


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"pelican',
        "pelican)",
        "((pelican",
        "pelican AND OR NOT",
        "NEAR(pelican brun, 2)",
        "pelican*",
        "*",
        "body:pelican",
        "^pelican",
        "pelican & !brun | (x",
        "pelican:*",
        "'pelican'",
        "-",
        "-pelican",
        "\\",
        "pelican\x00",
        "🦩 pelican",
    ],
)
def test_engine_syntax_typed_is_plain_text(group, learner, find, query):
    chat.message_send(sender=learner, conversation=group, body="pelican brun")
    hits = find(learner, query)  # never raises
    assert all(h.source == "message" for h in hits)


def test_a_query_over_the_limit_is_refused(learner):
    with pytest.raises(QueryTooLong):
        selectors.search(user=learner, query="x" * 201)


def test_rebuild_recreates_the_index(group, forum, learner, learner2, find):
    chat.message_send(sender=learner, conversation=group, body="pelican message")
    age(learner)
    forums.thread_create(author=learner, forum=forum, title="Pelican topic", body="x")
    find(learner, "pelican")
    SearchDocument.objects.all().delete()
    assert find(learner2, "pelican") == []
    call_command("search_rebuild", stdout=io.StringIO())
    assert len(find(learner2, "pelican")) == 2  # the message and the topic


def test_a_space_may_search_with_its_language(space, forum, learner, settings, find):
    """PostgreSQL: the space's text search configuration (stemming); SQLite has one
    tokenizer for every language, so the words match as written there."""
    from django.db import connection

    settings.LYCEUM_SEARCH = {"SPACE_CONFIGS": {space.slug: "english"}}
    age(learner)
    forums.thread_create(author=learner, forum=forum, title="Running shoes", body="x")
    assert SearchDocument.objects.get(source="forum_topic").config == "english"
    assert len(find(learner, "running ")) == 1
    expected = 1 if connection.vendor == "postgresql" else 0
    assert len(find(learner, "runs ")) == expected  # "runs" and "running" stem to "run"


def test_new_messages_are_indexed_in_bulk_by_one_catch_up(group, learner, learner2, run_tasks):
    """Sending costs the sender no indexing: one queued job indexes every new message."""
    from django_tasks_db.models import DBTaskResult

    for i in range(3):
        chat.message_send(sender=learner, conversation=group, body=f"heron {i}")
    assert not SearchDocument.objects.filter(source="message").exists()
    run_tasks()
    assert SearchDocument.objects.filter(source="message").count() == 3
    jobs = DBTaskResult.objects.filter(task_path__endswith="search_catch_up_job")
    assert jobs.count() == 1  # the three sends asked once
    chat.message_send(sender=learner2, conversation=group, body="heron 3")  # after the job
    run_tasks()
    assert SearchDocument.objects.filter(source="message").count() == 4


# -- cost per search ------------------------------------------------------------------------
def test_a_search_costs_a_few_queries_whatever_the_hits(
    group, forum, learner, learner2, run_tasks, django_assert_max_num_queries
):
    """The scopes in one query, the ranked page with its snippets and authors in one (plus,
    on SQLite, one for the marks), the forum posts' links in one: never a query per hit."""
    age(learner)
    thread = forums.thread_create(author=learner, forum=forum, title="Pelican", body="x")
    for i in range(6):
        chat.message_send(sender=learner2, conversation=group, body=f"pelican {i}")
        forums.post_create(author=learner2, thread=thread, body=f"the pelican {i}")
    run_tasks()
    selectors.search(user=learner, query="pelican")  # warm: URL resolvers, the person's roles
    with django_assert_max_num_queries(6):
        results = selectors.search(user=learner, query="pelican")
    assert len(results.hits) == 13
    posts = {h.object_id: h.url for h in results.hits if h.source == "forum_post"}
    assert len(posts) == 6
    link = reverse("forum-thread", args=[thread.pk])
    assert all(url == f"{link}#post-{pk}" for pk, url in posts.items())
    message = next(h for h in results.hits if h.source == "message")
    assert message.author == {"id": learner2.pk, "name": learner2.name}
    assert "<mark>pelican</mark>" in message.snippet_html


def test_snippets_of_a_page_far_from_the_newest_matches(group, learner, run_tasks):
    """The second page's excerpts are marked too (SQLite reads the marks over the page's
    id range)."""
    for i in range(7):
        chat.message_send(sender=learner, conversation=group, body=f"heron number {i}")
    run_tasks()
    page = selectors.search(user=learner, query="heron", page=2, page_size=3)
    assert len(page.hits) == 3
    assert all("<mark>heron</mark>" in h.snippet_html for h in page.hits)


def test_a_source_with_a_rule_of_its_own_and_one_with_none(group, learner, learner2, find):
    """A source may give its permission as a ``Q`` (``readable_rule``) instead of a scope;
    it is applied beside the others. A source with neither is refused at once."""
    from django.db.models import Q

    from search import registry

    chat.message_send(sender=learner, conversation=group, body="A cormorant dives")
    message = registry.get("message")
    ruled = registry.SearchSource(
        key=message.key,
        where=message.where,
        label=message.label,
        model=message.model,
        document=message.document,
        url=message.url,
        queryset=message.queryset,
        readable_rule=lambda user: Q(author_id=user.pk),  # one's own messages only
        save_hooks=False,
        created_events=message.created_events,
        events=message.events,
    )
    try:
        registry.register(ruled)
        assert [h.object_id for h in find(learner, "cormorant")] != []
        assert find(learner2, "cormorant") == []
    finally:
        registry.register(message)
    assert len(find(learner2, "cormorant")) == 1
    with pytest.raises(ValueError):
        registry.SearchSource(
            key="nothing", where="x", label="x", model=Course, document=None, url=None
        )


# -- one conversation, prefixes and phrases: the read newest first --------------------------
@pytest.fixture
def two_groups(group, trainer, learner, learner2):
    """``group`` (learner, learner2) and another one only learner is in."""
    other = chat.conversation_group_create(creator=trainer, title="Other", members=[learner])
    return group, other


@pytest.mark.parametrize("query", ["pelican", "peli", '"pelican brun"'])
def test_one_conversation_finds_its_own_messages_only(
    two_groups, trainer, learner, learner2, find, query
):
    group, other = two_groups
    mine = chat.message_send(sender=learner, conversation=group, body="pelican brun here")
    chat.message_send(sender=learner, conversation=other, body="pelican brun there")
    hits = find(learner, query, where="conversation", where_id=group.pk)
    assert [h.object_id for h in hits] == [mine.pk]
    assert len(find(learner, query)) == 2
    # Not a member of the other conversation: its id as a filter finds nothing.
    assert find(learner2, query, where="conversation", where_id=other.pk) == []
    chat.member_remove(actor=trainer, conversation=group, user=learner2)
    assert find(learner2, query, where="conversation", where_id=group.pk) == []
    assert find(learner2, query) == []


def test_a_conversation_id_typed_is_a_word_not_the_conversation(two_groups, learner, find):
    """The container's id is indexed beside the words (SQLite FTS5): typed, it matches
    only text."""
    group, other = two_groups
    chat.message_send(sender=learner, conversation=group, body="nothing numeric")
    numbered = chat.message_send(sender=learner, conversation=other, body=f"room {group.pk}")
    assert [h.object_id for h in find(learner, f"{group.pk} ")] == [numbered.pk]
    assert find(learner, f"{group.pk} ", where="conversation", where_id=group.pk) == []


@pytest.fixture
def small_window(monkeypatch):
    """The PostgreSQL read newest first, over a window of 3 readable documents that is
    kept from 2 matches (SQLite reads every match newest first: the results are all)."""
    from search import fulltext

    monkeypatch.setattr(fulltext, "RECENT_WINDOW", 3)
    monkeypatch.setattr(fulltext, "RECENT_MIN_MATCHES", 2)


def _is_pg() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.mark.parametrize("query", ["peli", '"pelican brun"'])
def test_a_window_with_enough_matches_is_kept(
    two_groups, learner, learner2, small_window, find, query
):
    group, other = two_groups
    old = chat.message_send(sender=learner, conversation=group, body="pelican brun old")
    chat.message_send(sender=learner, conversation=group, body="nothing")
    new = [
        chat.message_send(sender=learner, conversation=group, body=f"pelican brun {i}")
        for i in range(2)
    ]
    # Newer, in a conversation learner2 is not in: never a match nor a place in the window.
    for i in range(3):
        chat.message_send(sender=learner, conversation=other, body=f"pelican brun x{i}")
    found = {h.object_id for h in find(learner2, query)}
    # The window (the 3 newest readable) holds 2 matches: kept, the older one is not read.
    assert found == ({m.pk for m in new} if _is_pg() else {old.pk, *(m.pk for m in new)})


@pytest.mark.parametrize("query", ["peli", '"pelican brun"'])
def test_a_window_with_too_few_matches_reads_every_match(
    two_groups, learner, learner2, small_window, find, query
):
    group, other = two_groups
    old = [
        chat.message_send(sender=learner, conversation=group, body=f"pelican brun {i}")
        for i in range(3)
    ]
    for i in range(2):
        chat.message_send(sender=learner, conversation=group, body=f"nothing {i}")
    new = chat.message_send(sender=learner, conversation=group, body="pelican brun new")
    for i in range(3):
        chat.message_send(sender=learner, conversation=other, body=f"pelican brun x{i}")
    # One match among the 3 newest readable: every match is read, others' never.
    assert {h.object_id for h in find(learner2, query)} == {new.pk, *(m.pk for m in old)}
    found = find(learner2, query, where="conversation", where_id=group.pk)
    assert len(found) == 4
    assert find(learner2, query, where="conversation", where_id=other.pk) == []


def test_a_whole_conversation_in_the_window_is_exact(two_groups, learner, small_window, find):
    """A conversation with fewer documents than the window and fewer matches than the
    window keeps: its matches, exactly."""
    _group, other = two_groups
    only = chat.message_send(sender=learner, conversation=other, body="pelican alone")
    hits = find(learner, "peli", where="conversation", where_id=other.pk)
    assert [h.object_id for h in hits] == [only.pk]


@pytest.mark.parametrize("query", ["peli", '"pelican brun"', "pelican"])
def test_a_narrowed_prefix_or_phrase_search_costs_a_few_queries(
    group, learner, learner2, run_tasks, django_assert_max_num_queries, query
):
    for i in range(6):
        chat.message_send(sender=learner2, conversation=group, body=f"pelican brun {i}")
    run_tasks()
    filters = selectors.Filters(where="conversation", where_id=group.pk)
    selectors.search(user=learner, query=query, filters=filters)  # warm
    with django_assert_max_num_queries(6):
        results = selectors.search(user=learner, query=query, filters=filters)
    assert len(results.hits) == 6
    with django_assert_max_num_queries(6):
        assert len(selectors.search(user=learner, query=query).hits) == 6


def test_one_forum_finds_its_topics_and_posts_only(forum, group, learner, learner2, find):
    """Container ids are per source (a forum and a conversation may share one): each
    narrowed search finds its own source's rows only."""
    age(learner)
    thread = forums.thread_create(author=learner, forum=forum, title="Pelican topic", body="x")
    post = forums.post_create(author=learner2, thread=thread, body="pelican post")
    chat.message_send(sender=learner, conversation=group, body="pelican message")
    hits = find(learner2, "pelican", where="forum", where_id=forum.pk)
    assert sorted(h.source for h in hits) == ["forum_post", "forum_topic"]
    assert post.pk in {h.object_id for h in hits}
    hits = find(learner2, "peli", where="conversation", where_id=group.pk)
    assert [h.source for h in hits] == ["message"]
