"""The one rule for a model server's base URL, shared by the settings
(OPENAI_BASE_URL), the profile form and the checks. Pure: no Django."""

import re
from urllib.parse import urlsplit

HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def server_url_problem(value: str) -> str | None:
    """Why `value` is not a model server's base URL, or None. Single-label hosts
    (Docker service names like http://ollama:11434/v1) are fine."""
    if "://" not in value:
        return f"{value!r} has no scheme: write http://{value} or https://{value}"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return f"{value!r} is not a valid URL (check the port)"
    if parts.scheme not in ("http", "https"):
        return f"{value!r}: the scheme must be http or https"
    host = parts.hostname or ""
    is_ipv6 = host.count(":") >= 2
    if not host or not (is_ipv6 or all(HOST_LABEL.match(label) for label in host.rstrip(".").split("."))):
        return f"{value!r} names no valid host"
    if port == 0 or any(c.isspace() for c in value):
        return f"{value!r} is not a valid URL"
    return None
