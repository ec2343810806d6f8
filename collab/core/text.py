"""Text as the database will store it. PostgreSQL refuses NUL in text and
in JSON (`\\u0000`), and a lone UTF-16 surrogate cannot be encoded at all, so
whatever comes from outside (model replies, people's input) passes through
here before it is stored: NUL is dropped, a lone surrogate becomes U+FFFD."""

import re

_REFUSED = re.compile("[\x00\ud800-\udfff]")


def _replace(match: re.Match) -> str:
    return "" if match.group() == "\x00" else "\ufffd"


def storable(text: str) -> str:
    return _REFUSED.sub(_replace, text) if _REFUSED.search(text) else text


def storable_json(value):
    """The same for every string (keys included) in a JSON-like value."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(k) if isinstance(k, str) else k: storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v) for v in value]
    return value
