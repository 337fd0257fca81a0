"""Every post, comment and library body goes through hub/sanitize.py: nothing executable
survives, in the stored HTML, the payloads and the rendered pages."""

from __future__ import annotations

import pytest

from forums import services
from forums.selectors import post_payload
from tests.forums.conftest import age
from tests.forums.xss import PAYLOADS, assert_inert

pytestmark = pytest.mark.django_db


@pytest.fixture
def writer(veteran, settings):
    settings.LYCEUM_FORUMS = {"POSTS_PER_MINUTE": 10_000, "THREADS_PER_HOUR": 10_000}
    age(veteran, level=4)  # a leader: no per-post or per-day trust limits
    return veteran


@pytest.mark.parametrize("payload", PAYLOADS)
def test_post_bodies_are_inert(thread, writer, payload):
    post = services.post_create(author=writer, thread=thread, body=f"x {payload}")
    assert_inert(post.body_html)
    assert_inert(post_payload(post)["body_html"])
    services.post_edit(editor=writer, post=post, body=f"y {payload}")
    post.refresh_from_db()
    assert_inert(post.body_html)


def test_thread_titles_are_text_escaped_on_the_page(client, forum, writer):
    for payload in PAYLOADS:
        services.thread_create(author=writer, forum=forum, title=f"t {payload}"[:200], body="x")
    client.force_login(writer)
    html = client.get(forum.get_absolute_url()).content.decode()
    listing = html[
        html.index('<ul class="thread-list"') : html.index('<details class="card composer"')
    ]
    assert_inert(listing, user_links=False)


def test_library_items_and_comments_are_inert(space, writer, trainer):
    body = "\n\n".join(PAYLOADS)
    item = services.library_item_submit(
        author=writer, space=space, kind="article", title="<script>t</script>", body=body
    )
    assert_inert(item.body_html)
    item = services.library_item_review(reviewer=trainer, item=item, approve=True)
    comment = services.item_comment_create(author=writer, item=item, body=body)
    assert_inert(comment.body_html)


def test_library_links_must_be_web_addresses(space, writer):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.library_item_submit(
            author=writer, space=space, kind="link", title="x", url="javascript:alert(1)"
        )


def test_thread_page_renders_every_payload_inert(client, forum, writer):
    body = "\n\n".join(PAYLOADS)
    thread = services.thread_create(author=writer, forum=forum, title="<b>xss</b> 1 < 2", body=body)
    client.force_login(writer)
    html = client.get(thread.get_absolute_url()).content.decode()
    posts = html[html.index('<div id="posts"') : html.index('<p id="typing"')]
    assert_inert(posts)
    # The JSON state escapes every "<": it cannot close its script element.
    state = html[html.index('<script id="thread-state"') :]
    state = state[: state.index("</script>")]
    assert "<" not in state[len('<script id="thread-state" type="application/json">') :]
    assert "xss 1 &lt; 2</h1>" in html
