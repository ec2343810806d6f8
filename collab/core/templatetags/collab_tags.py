"""Template helpers for collab pages: ``{% load collab_tags %}``.

Filters
    ``markdown``    untrusted Markdown -> sanitized HTML (see collab.core.markdown)
    ``role_style``  hex colour -> ``--role-color: #rrggbb`` (validated, with fallback)
    ``role_color``  hex colour -> ``#rrggbb`` (validated, with fallback)
    ``initials``    "Product Manager" -> "PM", "critic" -> "CR"

Simple tags
    ``{% role_style role.color %}``  same output as the filter, for use inside style="".
    ``{% max_message_chars %}``      the longest message a person may send.
"""

from __future__ import annotations

import re

from django import template
from django.utils.safestring import SafeString, mark_safe

from collab.core.markdown import render_markdown

register = template.Library()

DEFAULT_ROLE_COLOR = "#6366f1"
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")  # used with fullmatch: ^#[0-9a-fA-F]{6}$
_WORD_SPLIT = re.compile(r"[\s_\-]+")


@register.filter(name="markdown", is_safe=True)
def markdown_filter(value) -> SafeString:
    """Render untrusted Markdown; the sanitizer guarantees the output is safe."""
    if value is None:
        return mark_safe("")
    return mark_safe(render_markdown(str(value)))  # noqa: S308 - sanitized by nh3


def valid_color(value, default: str = DEFAULT_ROLE_COLOR) -> str:
    """Return ``value`` lower-cased if it is exactly ``#rrggbb``, else ``default``."""
    if isinstance(value, str) and _HEX_COLOR.fullmatch(value):
        return value.lower()
    return default


@register.filter(name="role_color")
def role_color(value) -> str:
    return valid_color(value)


@register.filter(name="role_style")
def role_style_filter(value) -> str:
    """``{{ role.color|role_style }}`` -> ``--role-color: #rrggbb``."""
    return f"--role-color: {valid_color(value)}"


@register.simple_tag(name="role_style")
def role_style_tag(value=None) -> str:
    """``<div style="{% role_style role.color %}">`` -> ``--role-color: #rrggbb``."""
    return role_style_filter(value)


@register.filter(name="initials")
def initials(value, max_letters: int = 2) -> str:
    """Up to two upper-case initials from a name; "?" when there is nothing usable."""
    try:
        limit = max(1, min(int(max_letters), 3))
    except (TypeError, ValueError):
        limit = 2
    text = str(value or "").strip()
    words = [w for w in _WORD_SPLIT.split(text) if any(ch.isalnum() for ch in w)]
    if not words:
        return "?"
    if len(words) == 1:
        letters = [ch for ch in words[0] if ch.isalnum()][:limit]
    else:
        letters = [next(ch for ch in w if ch.isalnum()) for w in words[:limit]]
    return "".join(letters).upper() or "?"


@register.simple_tag(name="max_message_chars")
def max_message_chars() -> int:
    """The longest message a person may send (settings.MAX_HUMAN_MESSAGE_CHARS), for the composers' counters."""
    from django.conf import settings

    return settings.MAX_HUMAN_MESSAGE_CHARS
