"""Safe rendering of untrusted Markdown (agent and user messages) to HTML.

Two layers:

1. markdown-it-py in CommonMark mode with raw HTML disabled, so any ``<tag>`` in
   the source is escaped as text rather than passed through;
2. nh3 (ammonia) sanitizes the result against a small allow-list of tags, keeps
   only ``href`` on links, restricted to http/https/mailto, and adds
   ``rel="noopener noreferrer nofollow"``.

``render_markdown`` is a plain function (no Django imports) so it can be used both
by the ``markdown`` template filter and by websocket fragment rendering.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

__all__ = ["ALLOWED_TAGS", "ALLOWED_URL_SCHEMES", "render_markdown"]

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br", "strong", "em", "code", "pre", "blockquote",
        "ul", "ol", "li", "a",
        "h1", "h2", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td",
        "hr", "del",
    }
)  # fmt: skip

ALLOWED_URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})

LINK_REL = "noopener noreferrer nofollow"

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")


def _render_strikethrough(renderer, tokens, idx, options, env):
    # markdown-it emits <s>; the allow-list (and HTML semantics for edits) use <del>.
    tokens[idx].tag = "del"
    return renderer.renderToken(tokens, idx, options, env)


def _render_image(renderer, tokens, idx, options, env):
    # Images are not allowed (tracking pixels, layout breakage): show them as a plain
    # link to the source, labelled with the alt text. The sanitizer vets the URL.
    token = tokens[idx]
    src = escapeHtml(str(token.attrGet("src") or ""))
    label = escapeHtml(renderer.renderInlineAsText(token.children or [], options, env) or "image")
    return f'<a href="{src}">{label}</a>'


_md.add_render_rule("s_open", _render_strikethrough)
_md.add_render_rule("s_close", _render_strikethrough)
_md.add_render_rule("image", _render_image)

_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    # Contents of these are dropped entirely, not unwrapped into text.
    clean_content_tags={"script", "style"},
    attributes={"a": {"href"}},
    url_schemes=set(ALLOWED_URL_SCHEMES),
    # Relative or scheme-less links are removed: only absolute http/https/mailto survive.
    url_relative="deny",
    link_rel=LINK_REL,
    strip_comments=True,
)


def render_markdown(text: str | None) -> str:
    """Render untrusted Markdown ``text`` to sanitized HTML (a plain ``str``).

    The caller decides whether to mark the result safe; the output only contains
    the allow-listed tags and attributes above. ``None`` or blank input gives ``""``.
    """
    if not text:
        return ""
    html = _md.render(str(text))
    return _cleaner.clean(html).strip()
