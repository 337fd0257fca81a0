"""Blogs (blogs/): a person's and a team's blog, drafts and publishing, the space's feed
(live), followers told, comments and reactions, images, permissions, hostile content."""

from __future__ import annotations

import io

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from notifications.models import Notification
from PIL import Image

from blogs import services
from blogs.models import Blog, BlogPost
from hub.accounts.models import Role
from tests.factories import TeamFactory, UserFactory
from tests.forums.xss import PAYLOADS, assert_inert

pytestmark = pytest.mark.django_db


@pytest.fixture
def blog(space, learner):
    return services.blog_create(actor=learner, space=space, title="Learning notes")


@pytest.fixture
def team(space, learner, learner2):
    boss = UserFactory(username="boss", roles=[Role.MANAGER], spaces=[space])
    return TeamFactory(name="Support", space=space, manager=boss, members=[learner2])


def png(name: str = "pic.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def publish(author, blog, title="Hello", body="Some **words**") -> BlogPost:
    post = services.post_create(author=author, blog=blog, title=title, body=body)
    return services.post_publish(editor=author, post=post)


# -- blogs ---------------------------------------------------------------------------------------
def test_one_blog_a_person_a_team_and_only_members(space, learner, learner2, team, outsider):
    services.blog_create(actor=learner, space=space, title="Mine")
    with pytest.raises(ValidationError):
        services.blog_create(actor=learner, space=space, title="Again")
    with pytest.raises(PermissionDenied):
        services.blog_create(actor=outsider, space=space, title="Intruder")
    with pytest.raises(PermissionDenied):  # learner is not in the team
        services.blog_create(actor=learner, space=space, title="Theirs", team=team)
    team_blog = services.blog_create(actor=learner2, space=space, title="Support", team=team)
    assert team_blog.team == team and team_blog.owner is None
    with pytest.raises(ValidationError):
        services.blog_create(actor=team.manager, space=space, title="Twice", team=team)


def test_drafts_are_private_until_published(blog, learner, learner2, published):
    post = services.post_create(author=learner, blog=blog, title="Draft", body="not yet")
    assert post.status == "draft"
    assert published(f"blogs.space.{blog.space_id}") == []
    with pytest.raises(PermissionDenied):
        services.comment_create(author=learner2, post=post, body="first!")
    post = services.post_publish(editor=learner, post=post)
    assert post.status == "published" and post.published_at
    events = published(f"blogs.space.{blog.space_id}")
    assert [e.type for e in events] == ["post.published"]
    assert events[0].data["title"] == "Draft" and events[0].id
    # Publishing again changes nothing.
    services.post_publish(editor=learner, post=post)
    assert len(published(f"blogs.space.{blog.space_id}")) == 1


def test_only_the_author_or_the_team_writes(blog, team, learner, learner2, space):
    with pytest.raises(PermissionDenied):
        services.post_create(author=learner2, blog=blog, title="x", body="y")
    post = publish(learner, blog)
    with pytest.raises(PermissionDenied):
        services.post_update(editor=learner2, post=post, title="mine now", body="y")
    with pytest.raises(PermissionDenied):
        services.post_delete(actor=learner2, post=post)
    team_blog = services.blog_create(actor=learner2, space=space, title="Support", team=team)
    # The team's manager and members write; others do not.
    written = services.post_create(
        author=team.manager, blog=team_blog, title="From the boss", body="b"
    )
    services.post_update(editor=learner2, post=written, title="Edited by a member", body="b")
    with pytest.raises(PermissionDenied):
        services.post_create(author=learner, blog=team_blog, title="x", body="y")


def test_followers_are_told_of_new_posts(blog, learner, learner2, trainer):
    services.follow_set(user=learner2, blog=blog, on=True)
    services.follow_set(user=learner2, blog=blog, on=True)  # twice: once
    post = publish(learner, blog, title="News")
    told = Notification.objects.filter(data__kind="blogs.post")
    assert list(told.values_list("recipient", flat=True)) == [learner2.pk]
    assert "News" in told.get().verb and told.get().data["url"] == post.get_absolute_url()
    services.follow_set(user=learner2, blog=blog, on=False)
    publish(learner, blog, title="Quiet")
    assert told.count() == 1


def test_comments_and_reactions_live(blog, learner, learner2, published):
    post = publish(learner, blog)
    comment = services.comment_create(author=learner2, post=post, body="Nice *one*")
    events = published(post.topic)
    assert events[-1].type == "comment.created" and events[-1].id == comment.pk
    assert "<em>one</em>" in events[-1].data["body_html"]
    assert Notification.objects.filter(recipient=learner, data__kind="blogs.comment").exists()
    post = services.post_react(user=learner2, post=post, emoji="like")
    post = services.post_react(user=learner2, post=post, emoji="like")  # once per person
    assert post.reaction_counts == {"like": 1}
    assert published(post.topic)[-1].type == "reaction.changed"
    with pytest.raises(ValidationError):
        services.post_react(user=learner2, post=post, emoji="<script>")
    post = services.post_react(user=learner2, post=post, emoji="like", on=False)
    assert post.reaction_counts == {}
    with pytest.raises(PermissionDenied):
        services.comment_delete(
            actor=UserFactory(username="x", spaces=[blog.space]), comment=comment
        )
    services.comment_delete(actor=learner, comment=comment)  # the blog's author may
    post.refresh_from_db()
    assert post.comment_count == 0


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_content_is_sanitised(client, blog, learner, learner2, payload):
    post = publish(learner, blog, title=f"t {payload}"[:200], body=f"x {payload}")
    assert_inert(post.body_html)
    comment = services.comment_create(author=learner2, post=post, body=f"c {payload}")
    assert_inert(comment.body_html)
    # Titles are text, escaped where they are shown: the post page, the feed, the home page.
    client.force_login(learner2)
    shown = {
        post.get_absolute_url(): [
            ("<article", "</article>"),
            ('<ul class="blog-comments"', "</ul>"),
        ],
        reverse("blogs"): [('<ul class="blog-feed"', "</ul>")],
        reverse("dashboard"): [('<ul class="home-list" data-testid="blog-feed"', "</ul>")],
    }
    for url, parts in shown.items():
        html = client.get(url).content.decode()
        for start, end in parts:
            at = html.index(start)
            assert_inert(html[at : html.index(end, at)], user_links=False)


def test_search_text_is_plain(blog, learner):
    post = publish(
        learner,
        blog,
        title="Fractions",
        body="# Halves\n\nA **half** is [one](https://x.example) of two.",
    )
    assert post.search_text() == "Fractions\nHalves\nA half is one of two."


def test_images_are_checked_and_read_through_the_blog(blog, learner, learner2, outsider, client):
    image = services.image_upload(user=learner, blog=blog, file=png())
    assert image.file.name.startswith("blogs/") and image.content_type == "image/png"
    fake = SimpleUploadedFile("evil.png", b"<svg onload=alert(1)></svg>", "image/png")
    with pytest.raises(ValidationError):
        services.image_upload(user=learner, blog=blog, file=fake)
    with pytest.raises(PermissionDenied):
        services.image_upload(user=learner2, blog=blog, file=png())
    client.force_login(learner2)
    assert client.get(image.file.url).status_code == 200
    client.force_login(outsider)
    assert client.get(image.file.url).status_code == 404


# -- REST ---------------------------------------------------------------------------------------
def test_rest_round_trip_and_someone_elses_ids(blog, learner, learner2, outsider, api_client_for):
    author, reader, stranger = (api_client_for(u) for u in (learner, learner2, outsider))
    r = author.post(
        f"/api/v1/blogs/{blog.pk}/posts/", {"title": "Draft", "body": "text"}, format="json"
    )
    assert r.status_code == 201 and r.json()["status"] == "draft"
    pk = r.json()["id"]
    assert reader.get(f"/api/v1/blogs/posts/{pk}/").status_code == 404  # a draft
    assert author.post(f"/api/v1/blogs/posts/{pk}/publish/").status_code == 200
    assert reader.get(f"/api/v1/blogs/posts/{pk}/").json()["title"] == "Draft"
    assert stranger.get(f"/api/v1/blogs/posts/{pk}/").status_code == 404
    assert stranger.get(f"/api/v1/blogs/{blog.pk}/").status_code == 404
    assert stranger.post(f"/api/v1/blogs/{blog.pk}/follow/", {"on": True}).status_code == 404
    r = reader.patch(f"/api/v1/blogs/posts/{pk}/", {"title": "x", "body": "y"}, format="json")
    assert r.status_code == 403
    assert reader.delete(f"/api/v1/blogs/posts/{pk}/").status_code == 403
    r = reader.post(f"/api/v1/blogs/{blog.pk}/posts/", {"title": "x", "body": "y"}, format="json")
    assert r.status_code == 403
    r = reader.post(f"/api/v1/blogs/posts/{pk}/comments/", {"body": "Great"}, format="json")
    assert r.status_code == 201
    assert stranger.post(f"/api/v1/blogs/posts/{pk}/comments/", {"body": "x"}).status_code == 404
    r = reader.post(f"/api/v1/blogs/posts/{pk}/reactions/", {"emoji": "tada"}, format="json")
    assert r.json()["reactions"] == {"tada": 1} and r.json()["mine"] == ["tada"]
    assert reader.post(f"/api/v1/blogs/posts/{pk}/reactions/", {"emoji": "x"}).status_code == 400
    feed = reader.get("/api/v1/blogs/feed/", {"space": blog.space_id}).json()["results"]
    assert [p["id"] for p in feed] == [pk]
    assert stranger.get("/api/v1/blogs/feed/").json()["results"] == []
    assert reader.get("/api/v1/blogs/feed/", {"space": "1; drop"}).status_code == 400
    assert reader.get("/api/v1/blogs/posts/99999999/").status_code == 404
    r = author.post(f"/api/v1/blogs/{blog.pk}/posts/", {"title": "", "body": ""}, format="json")
    assert r.status_code == 400
    r = author.post(
        f"/api/v1/blogs/{blog.pk}/posts/", {"title": "t", "body": "x" * 50_001}, format="json"
    )
    assert r.status_code == 400
    assert BlogPost.objects.count() == 1


def test_rest_images(blog, learner, learner2, api_client_for):
    r = api_client_for(learner).post(f"/api/v1/blogs/{blog.pk}/images/", {"file": png()})
    assert r.status_code == 201 and r.json()["markdown"].startswith("![pic.png](/")
    r = api_client_for(learner2).post(f"/api/v1/blogs/{blog.pk}/images/", {"file": png()})
    assert r.status_code == 403
    bad = SimpleUploadedFile("x.png", b"MZ\x90\x00program", "image/png")
    r = api_client_for(learner).post(f"/api/v1/blogs/{blog.pk}/images/", {"file": bad})
    assert r.status_code == 400


def test_rest_blogs(space, learner, learner2, outsider, api_client_for, team):
    api = api_client_for(learner2)
    r = api.post("/api/v1/blogs/", {"space": space.pk, "title": "Mine"}, format="json")
    assert r.status_code == 201
    r = api.post(
        "/api/v1/blogs/", {"space": space.pk, "team": team.pk, "title": "Team"}, format="json"
    )
    assert r.status_code == 201 and r.json()["team"]["name"] == "Support"
    r = api_client_for(outsider).post(
        "/api/v1/blogs/", {"space": space.pk, "title": "x"}, format="json"
    )
    assert r.status_code == 403
    assert api.post("/api/v1/blogs/", {"space": 999999, "title": "x"}).status_code == 400
    titles = [b["title"] for b in api_client_for(learner).get("/api/v1/blogs/").json()["results"]]
    assert sorted(titles) == ["Mine", "Team"]
    assert api_client_for(outsider).get("/api/v1/blogs/").json()["results"] == []


# -- pages ---------------------------------------------------------------------------------------
def test_pages_write_publish_and_read(client, blog, learner, learner2, outsider):
    client.force_login(learner)
    r = client.post(
        reverse("blog-post-new", args=[blog.pk]),
        {"title": "Page post", "body": "Hello <script>x</script>", "action": "publish"},
    )
    post = BlogPost.objects.get()
    assert r.status_code == 302 and post.status == "published"
    client.force_login(learner2)
    page = client.get(post.get_absolute_url()).content.decode()
    assert "Page post" in page and "<script>x" not in page
    assert client.get(reverse("blog-post-new", args=[blog.pk])).status_code == 403
    assert client.get(reverse("blog-post-edit", args=[post.pk])).status_code == 403
    home = client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="panel-blogs"' in home and "Page post" in home
    assert f'data-topics="blogs.space.{blog.space_id}"' in home
    assert "Page post" in client.get(reverse("blogs-home-feed")).content.decode()
    assert "Page post" in client.get(reverse("blogs")).content.decode()
    client.post(post.get_absolute_url(), {"action": "comment", "body": "Well said"})
    assert post.comments.get().body == "Well said"
    client.force_login(outsider)
    assert client.get(post.get_absolute_url()).status_code == 404
    assert client.get(blog.get_absolute_url()).status_code == 404


def test_pages_open_a_blog_and_follow(client, space, learner2):
    client.force_login(learner2)
    r = client.post(reverse("blogs"), {"title": "My notes", "description": ""})
    blog = Blog.objects.get(owner=learner2)
    assert r.status_code == 302 and r["Location"] == blog.get_absolute_url()
    assert client.get(reverse("blogs")).status_code == 200
    assert client.get(reverse("blogs") + "?x=1").status_code == 200


def test_no_state_change_on_get(client, blog, learner, learner2):
    post = publish(learner, blog)
    client.force_login(learner2)
    client.get(post.get_absolute_url() + "?action=react&emoji=like")
    client.get(blog.get_absolute_url() + "?follow=1")
    post.refresh_from_db()
    assert post.reaction_counts == {} and not blog.follows.exists()


# -- the gateway ---------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
async def test_feed_and_comments_over_the_gateway(space, communicator_for):
    author = await sync_to_async(UserFactory)(username="w1", spaces=[space])
    reader = await sync_to_async(UserFactory)(username="r1", spaces=[space])
    stranger = await sync_to_async(UserFactory)(username="s1")
    blog = await sync_to_async(services.blog_create)(actor=author, space=space, title="B")
    ws = await communicator_for(reader)
    assert (await ws.call("sub", topic=f"blogs.space.{space.pk}"))["op"] == "ok"
    post = await sync_to_async(publish)(author, blog, title="Live one")
    event = await ws.next_event(type="post.published")
    assert event["data"]["title"] == "Live one" and event["id"]
    # A late subscriber resumes from `since`.
    late = await communicator_for(reader)
    await late.call("sub", topic=f"blogs.space.{space.pk}", since=0)
    assert (await late.next_event(type="post.published"))["data"]["id"] == post.pk
    # Comments and reactions through the post's topic.
    assert (await ws.call("sub", topic=post.topic))["op"] == "ok"
    reply = await ws.call("act", topic=post.topic, action="comment", data={"body": "**hi**"})
    assert reply["op"] == "ok" and "<strong>hi</strong>" in reply["data"]["body_html"]
    assert (await ws.next_event(type="comment.created"))["id"] == reply["data"]["id"]
    bad = await ws.call("act", topic=post.topic, action="react", data={"emoji": "nope"})
    assert bad["op"] == "error" and bad["code"] == "invalid"
    spy = await communicator_for(stranger)
    refused = await spy.call("sub", topic=f"blogs.space.{space.pk}")
    assert refused["op"] == "error" and refused["code"] == "forbidden"
    refused = await spy.call("sub", topic=post.topic)
    assert refused["op"] == "error"
    draft = await sync_to_async(services.post_create)(author=author, blog=blog, title="d", body="d")
    refused = await ws.call("sub", topic=draft.topic)
    assert refused["op"] == "error"


def test_published_posts_are_found_by_the_spaces_members_only(
    blog, learner, learner2, outsider, commit
):
    """Blog posts in search: published ones, for whoever reads the blog; drafts, posts put
    back to draft and deleted posts are not found."""
    from search import selectors as search

    def find(user):
        commit()
        return [(h.source, h.object_id) for h in search.search(user=user, query="kingfisher").hits]

    post = services.post_create(author=learner, blog=blog, title="Kingfisher", body="by the river")
    assert find(learner2) == []  # a draft
    services.post_publish(editor=learner, post=post)
    assert find(learner2) == [("blog_post", post.pk)]
    assert find(outsider) == []  # not a member of the space
    services.post_unpublish(editor=learner, post=BlogPost.objects.get(pk=post.pk))
    assert find(learner2) == []
    services.post_publish(editor=learner, post=BlogPost.objects.get(pk=post.pk))
    services.post_delete(actor=learner, post=BlogPost.objects.get(pk=post.pk))
    assert find(learner2) == []
