"""One Redis, three uses on separate databases: Celery broker, channel layer,
and engine control keys (halt flags, presence). Accepts redis://, rediss://
and unix:// URLs; the embedded server listens on a unix socket."""

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

SCHEMES = {"redis", "rediss", "unix"}


def parse(url: str) -> tuple[str, int]:
    """Return (scheme, base db) or raise ValueError with a readable reason."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of redis://, rediss://, unix:// (got {parts.scheme or 'none'!r})")
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError("unix:// URL needs a socket path")
        db = parse_qs(parts.query).get("db", ["0"])[0]
    else:
        if not parts.hostname:
            raise ValueError("missing host")
        db = parts.path.lstrip("/") or "0"
    if not db.isdigit():
        raise ValueError(f"database number must be a whole number (got {db!r})")
    return parts.scheme, int(db)


def with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = parse_qs(parts.query)
        query["db"] = [str(db)]
        return f"unix://{parts.path}?{urlencode(query, doseq=True)}"
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


def celery_broker(url: str, db: int) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"redis+socket://{parts.path}?virtual_host={db}"
    return with_db(url, db)
