"""Safe Markdown rendering and the collab_tags template helpers (no database needed)."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template

from collab.core.markdown import render_markdown
from collab.core.templatetags.collab_tags import initials, role_style_filter, valid_color

# hrefs of real <a> tags only (a "<" in text is always escaped as &lt;).
HREFS = re.compile(r'<a\b[^>]*\bhref="([^"]*)"')


def tags_in(html: str) -> set[str]:
    return {t.lower() for t in re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9]*)", html)}


# --- XSS ----------------------------------------------------------------------------


def test_script_tag_is_escaped_text():
    html = render_markdown("<script>alert(1)</script>")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_img_onerror_is_neutralised():
    html = render_markdown("<img src=x onerror=alert(1)>")
    assert "<img" not in html.lower()
    # No live attribute: whatever remains is escaped text inside a paragraph.
    assert not re.search(r"<[^>]*onerror", html, re.I)
    assert tags_in(html) <= {"p"}


def test_markdown_image_becomes_safe_link():
    html = render_markdown('![pic](https://example.com/a.png "t") ![x](javascript:alert(1))')
    assert "<img" not in html
    assert '<a href="https://example.com/a.png"' in html
    assert "javascript:" not in "".join(HREFS.findall(html))


@pytest.mark.parametrize(
    "src",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](  javascript:alert(1) )",
        "[x](java\tscript:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<a href="javascript:alert(1)">x</a>',
        "[x]: javascript:alert(1)\n\n[y][x]",
        "<javascript:alert(1)>",
    ],
)
def test_no_dangerous_hrefs(src):
    html = render_markdown(src)
    for href in HREFS.findall(html):
        assert href.startswith(("http://", "https://", "mailto:")), (src, html)
    assert "javascript:" not in "".join(HREFS.findall(html)).lower()
    assert '<a href="javascript' not in html.lower()


def test_raw_html_and_event_handlers_never_become_tags():
    src = '<div onclick="x()">hi</div><iframe src="https://e.com"></iframe><style>*{}</style><b>b</b>'
    html = render_markdown(src)
    assert tags_in(html) <= {"p"}
    assert "&lt;div" in html


def test_only_allowed_tags_and_attributes_survive():
    src = (
        "# H1\n\n## H2\n\n> quote\n\n---\n\n1. one\n2. two\n\n~~gone~~ **b** *i*  \nbreak\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('<hi>')\n```\n"
    )
    html = render_markdown(src)
    allowed = {
        "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
        "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "hr", "del",
    }  # fmt: skip
    assert tags_in(html) <= allowed
    # No attributes at all except on links (the language-python class is dropped).
    assert 'class="' not in html
    assert "style=" not in html


# --- normal Markdown still renders ------------------------------------------------------------


def test_lists_render():
    html = render_markdown("- apples\n- pears\n\n1. first\n2. second")
    assert "<ul>" in html and "<li>apples</li>" in html
    assert "<ol>" in html and "<li>second</li>" in html


def test_code_renders_and_is_escaped():
    html = render_markdown("Use `a < b` here.\n\n```\nif x < 3:\n    y = '<b>'\n```")
    assert "<code>a &lt; b</code>" in html
    assert "<pre><code>" in html
    assert "y = '&lt;b&gt;'" in html or "y = &#x27;&lt;b&gt;&#x27;" in html or "&lt;b&gt;" in html
    assert "<b>" not in html


def test_links_render_with_rel():
    html = render_markdown("See [docs](https://example.com/x?a=1&b=2) or [mail](mailto:a@example.com).")
    assert '<a href="https://example.com/x?a=1&amp;b=2" rel="noopener noreferrer nofollow">docs</a>' in html
    assert '<a href="mailto:a@example.com" rel="noopener noreferrer nofollow">mail</a>' in html


def test_relative_links_lose_href():
    html = render_markdown("[here](/admin/)")
    assert "href" not in html
    assert "here" in html


def test_tables_and_strikethrough_enabled():
    html = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~")
    assert "<table>" in html and "<th>a</th>" in html and "<td>2</td>" in html
    assert "<del>old</del>" in html


def test_emphasis_headings_blockquote():
    html = render_markdown("# Title\n\n**bold** and *em*\n\n> quoted")
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html
    assert "<blockquote>" in html


@pytest.mark.parametrize("value", [None, "", "   "])
def test_empty_input(value):
    assert render_markdown(value).strip() == ""


def test_linkify_is_off():
    html = render_markdown("visit https://example.com now")
    assert "<a" not in html


# --- template filters -------------------------------------------------------------------


def test_markdown_filter_returns_safe_string_in_template():
    tpl = Template("{% load collab_tags %}<div>{{ body|markdown }}</div>")
    out = tpl.render(Context({"body": "**hi** <script>x</script>"}))
    assert "<strong>hi</strong>" in out
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    # Not double-escaped.
    assert "&amp;lt;" not in out


def test_markdown_filter_none():
    tpl = Template("{% load collab_tags %}[{{ body|markdown }}]")
    assert tpl.render(Context({"body": None})) == "[]"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("#12abEF", "#12abef"),
        ("#000000", "#000000"),
        ("red", None),
        ("#fff", None),
        ("#12345g", None),
        ("#123456; background:url(x)", None),
        ("#123456\n", None),
        ('"><script>', None),
        (None, None),
        (123456, None),
    ],
)
def test_valid_color(value, expected):
    default = "#6366f1"
    assert valid_color(value) == (expected or default)
    assert valid_color(value, default="#000001") == (expected or "#000001")
    assert role_style_filter(value) == f"--role-color: {expected or default}"


def test_role_style_tag_and_filter_in_template():
    tpl = Template(
        '{% load collab_tags %}<i style="{% role_style c %}"></i><b style="{{ bad|role_style }}"></b>'
    )
    out = tpl.render(Context({"c": "#A1B2C3", "bad": "red;}</style><script>"}))
    assert '<i style="--role-color: #a1b2c3"></i>' in out
    assert '<b style="--role-color: #6366f1"></b>' in out
    assert "script" not in out


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Product Manager", "PM"),
        ("critic", "CR"),
        ("  qa-engineer ", "QE"),
        ("senior_backend_dev", "SB"),
        ("x", "X"),
        ("", "?"),
        (None, "?"),
        ("🤖 Robot", "RO"),
        ("!!!", "?"),
        ("élan vital", "ÉV"),
    ],
)
def test_initials(name, expected):
    assert initials(name) == expected


def test_initials_filter_in_template_escapes():
    tpl = Template("{% load collab_tags %}{{ n|initials }}")
    assert tpl.render(Context({"n": "<b>ad</b> min"})) == "BM"
