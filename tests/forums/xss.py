"""A corpus of XSS payloads for user content (posts, comments, library items)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

PAYLOADS = [
    "<script>window.__xss=1</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    '<img src=x onerror="window.__xss=1">',
    "<img src=x onerror=window.__xss=1//",
    '<body onload="window.__xss=1">',
    '<div onmouseover="window.__xss=1">hover</div>',
    '<a href="javascript:window.__xss=1">click</a>',
    '<a href="JaVaScRiPt:window.__xss=1">click</a>',
    '<a href="&#106;avascript:window.__xss=1">click</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;script:window.__xss=1">click</a>',
    '<a href="java\tscript:window.__xss=1">tab</a>',
    '<a href=" javascript:window.__xss=1">space</a>',
    '<a href="vbscript:msgbox(1)">vb</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==">data</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<svg onload="window.__xss=1"><circle r="1"/></svg>',
    "<svg><script>window.__xss=1</script></svg>",
    '<svg><a xlink:href="javascript:window.__xss=1"><text>x</text></a></svg>',
    '<math><mi xlink:href="javascript:window.__xss=1">x</mi></math>',
    '<iframe src="javascript:window.__xss=1"></iframe>',
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    '<object data="javascript:window.__xss=1"></object>',
    '<embed src="javascript:window.__xss=1">',
    '<span style="background:url(javascript:window.__xss=1)">css</span>',
    '<span style="width: expression(window.__xss=1)">css</span>',
    "<style>@import 'https://evil.example/x.css'; body{background:red}</style>",
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=1">',
    '<base href="javascript:window.__xss=1//">',
    '<form action="javascript:window.__xss=1"><button>go</button></form>',
    '<input autofocus onfocus="window.__xss=1">',
    '<details open ontoggle="window.__xss=1">x</details>',
    '<video><source onerror="window.__xss=1"></video>',
    '<audio src=x onerror="window.__xss=1">',
    "<<script>script>window.__xss=1<</script>/script>",
    "<scr<script>ipt>window.__xss=1</scr</script>ipt>",
    '<img """><script>window.__xss=1</script>">',
    "<img src=x:alert(1) onerror=eval(src)>",
    "<!--<img src=x onerror=window.__xss=1>-->",
    '<noscript><p title="</noscript><img src=x onerror=window.__xss=1>">',
    "&lt;script&gt;window.__xss=1&lt;/script&gt;",
    "%3Cscript%3Ewindow.__xss=1%3C/script%3E",
    "[click](javascript:window.__xss=1)",
    "[click](JAVASCRIPT:window.__xss=1)",
    "[click](&#106;avascript:window.__xss=1)",
    "[click](data:text/html;base64,PHNjcmlwdD4=)",
    '[click](https://example.com "title\\" onmouseover=\\"window.__xss=1")',
    "![img](javascript:window.__xss=1)",
    '![img](x" onerror="window.__xss=1)',
    "[a]: javascript:window.__xss=1\n\n[click][a]",
    "<javascript:window.__xss=1>",
    "```html\n<script>window.__xss=1</script>\n```",
    "`<img src=x onerror=window.__xss=1>`",
    "<a href='https://example.com' onclick='window.__xss=1'>ok link</a>",
    '<a href="https://example.com" target="_blank">tabnab</a>',
]

DANGEROUS_TAGS = (
    "<script", "<iframe", "<svg", "<object", "<embed", "<form", "<math", "<details", "<style",
    "<link", "<meta", "<base", "<input", "<video", "<audio", "<body", "<noscript", "<button",
)  # fmt: skip


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_inert(html: str, *, user_links: bool = True) -> None:
    """Nothing in ``html`` can run: no dangerous element, event handler or scriptable URL.

    Parsed as a browser would tokenise it (attribute values unquoted, entities decoded).
    """
    collector = _Collector()
    collector.feed(html)
    collector.close()
    for tag, attrs in collector.tags:
        assert f"<{tag}" not in DANGEROUS_TAGS, (tag, html)
        for name, value in attrs:
            assert not name.startswith("on"), (name, html)
            compact = re.sub(r"[\x00-\x20]+", "", (value or "")).lower()
            if name in {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"}:
                assert not compact.startswith(("javascript:", "data:", "vbscript:")), html
            if name == "style":
                assert "url(" not in compact and "expression(" not in compact, html
        if tag == "a" and user_links:  # links written by users open safely
            assert "noopener" in dict(attrs).get("rel", ""), html
