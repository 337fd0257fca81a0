"""hub/sanitize.py: the one policy. Nothing executable survives."""

from __future__ import annotations

import re

import pytest

from hub import sanitize

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
    "<svg onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    '<span style="background:url(javascript:alert(1))">x</span>',
    "<<script>script>alert(1)<</script>/script>",
    "[x](javascript:alert(1))",
    "![x](javascript:alert(1))",
    "<details open ontoggle=alert(1)>",
    '<form action="https://evil"><input></form>',
    '<object data="x"></object><embed src="x">',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("render", [sanitize.markdown, sanitize.html])
def test_nothing_executable_survives(payload, render):
    out = render(payload).lower()
    for tag in ("<script", "<iframe", "<svg", "<object", "<embed", "<form", "<math", "<details"):
        assert tag not in out, (payload, out)
    assert not re.search(r"<[^>]*\son\w+\s*=", out), (payload, out)  # event handlers
    assert not re.search(
        r"<[^>]*(href|src|action)\s*=\s*[\"']?\s*(javascript|data|vbscript):", out
    ), out


def test_ordinary_markdown_is_kept():
    out = sanitize.markdown("**bold** and [a link](https://example.org)\n\n- one\n- two")
    assert "<strong>bold</strong>" in out
    assert 'href="https://example.org"' in out and 'rel="nofollow noopener noreferrer"' in out
    assert "<li>one</li>" in out


def test_plain_strips_every_tag():
    assert sanitize.plain("<b>hi</b> <script>x</script>") == "hi x"


def test_plain_is_text_not_html_so_templates_escape_it_once():
    from django.template import Context, Template

    assert sanitize.plain("Q&A <b>today</b>") == "Q&A today"
    assert sanitize.plain("&lt;script&gt; &amp; co") == "<script> & co"
    rendered = Template("{{ title }}").render(Context({"title": sanitize.plain("Q&A <i>x</i>")}))
    assert rendered == "Q&amp;A x"


def test_concurrent_threads_get_the_same_results_as_one():
    """The cleaner and the markdown renderer are per thread: no shared parser state."""
    from concurrent.futures import ThreadPoolExecutor

    sources = [
        f"**{i}** [link](https://example.org/{i}) <script>x{i}</script>\n\n"
        f"| a | b |\n|---|---|\n| {i} | y |"
        for i in range(40)
    ]
    expected = [sanitize.markdown(s) for s in sources]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _round in range(5):
            assert list(pool.map(sanitize.markdown, sources)) == expected


def test_the_markdown_people_write_is_kept():
    """CommonMark with tables and hard line breaks; raw HTML meets the allow-list."""
    out = sanitize.markdown(
        "## Title\n\nLine one\nline two\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        '```python\nprint("<b>")\n```\n\n'
        "1. first\n2. second\n   - nested\n\n"
        "> quoted *text*\n\n"
        '![logo](https://example.org/l.png "Logo") see https://example.org/x '
        '<span style="color: red">red</span> H<sub>2</sub>O `http://a.example`'
    )
    assert "<h2>Title</h2>" in out
    assert "<p>Line one<br>\nline two</p>" in out
    assert "<th>a</th>" in out and "<td>2</td>" in out
    assert '<pre><code class="language-python">print(&quot;&lt;b&gt;&quot;)\n</code></pre>' in out
    assert "<ol>\n<li>first</li>\n<li>second\n<ul>\n<li>nested</li>" in out
    assert "<blockquote>\n<p>quoted <em>text</em></p>\n</blockquote>" in out
    assert '<img src="https://example.org/l.png" alt="logo" title="Logo">' in out
    assert '<a href="https://example.org/x" rel="nofollow noopener noreferrer">' in out
    assert '<span style="color: red;">red</span> H<sub>2</sub>O' in out
    assert "<code>http://a.example</code>" in out  # code is not linkified


def test_a_list_may_follow_a_line_of_text_directly():
    """As people type in chat (Python-Markdown wanted a blank line first)."""
    assert "<li>eggs</li>" in sanitize.markdown("Shopping:\n- eggs\n- milk")


def test_an_address_that_is_not_a_web_address_is_no_link():
    out = sanitize.markdown("[click](javascript:alert(1)) ![i](data:image/png;base64,AAAA)")
    assert "<a " not in out and "src=" not in out
    assert "[click](javascript:alert(1))" in out  # the text stays as typed


def test_a_text_over_the_limit_is_refused_before_it_is_rendered(monkeypatch):
    from django.core.exceptions import ValidationError

    assert sanitize.markdown("x" * 10, max_chars=10) == "<p>xxxxxxxxxx</p>"
    monkeypatch.setattr(sanitize, "_markdown", lambda: pytest.fail("rendered"))
    with pytest.raises(ValidationError) as error:
        sanitize.markdown("x" * 11, max_chars=10, field="summary")
    assert list(error.value.message_dict) == ["summary"]


# -- the plain-text fast path ----------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# Text that often takes the fast path (words, spaces, , ? ! ') and often just misses it
# (markdown and HTML punctuation, new lines, edge spaces, any Unicode letter, digit or mark).
_NEAR_PLAIN = st.text(
    alphabet=st.one_of(
        st.sampled_from("ab Z9 ,?!'"),
        st.sampled_from('.:/@_*#-+>[]()<&;`~=|\\"\n\t\r'),
        st.characters(codec="utf-8"),
    ),
    max_size=40,
)


@settings(max_examples=3000, deadline=None)
@given(_NEAR_PLAIN)
def test_plain_text_fast_path_renders_as_the_full_path(text):
    assert sanitize.markdown(text) == sanitize._render(text)


@settings(max_examples=1000, deadline=None)
@given(
    st.text(
        alphabet=st.one_of(
            st.characters(categories=["L", "N"]), st.sampled_from(" ,?!'"), st.just(" ")
        ),
        min_size=1,
        max_size=80,
    )
)
def test_plain_text_fast_path_on_words(text):
    assert sanitize.markdown(text) == sanitize._render(text)


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        ("hello, how are you? I'm fine!", True),
        ("élève n°1", False),
        ("see example.com", False),
        ("1) first", False),
        (" indented", False),
        ("two\nlines", False),
        ("a_b", False),
    ],
)
def test_which_texts_take_the_fast_path(text, fast):
    assert bool(sanitize._PLAIN_TEXT.fullmatch(text)) is fast
    assert sanitize.markdown(text) == sanitize._render(text)
