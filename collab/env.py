"""Typed readers for settings that come from the environment.

A bad value stops the process with one line naming the variable: a settings
error should read like a configuration message, not a stack trace.
"""

import os
import sys
from pathlib import Path


class ConfigError(Exception):
    pass


def fail(name: str, message: str) -> None:
    sys.stderr.write(f"collab: configuration error: {name}: {message}\n")
    raise SystemExit(2)


def env_str(name: str, default: str = "") -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        file_path = os.environ.get(f"{name}_FILE")
        if file_path:
            try:
                return Path(file_path).read_text().strip()
            except OSError as exc:
                fail(f"{name}_FILE", f"cannot read {file_path}: {exc.strerror}")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    fail(name, f"expected true/false, got {value!r}")
    return default


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        fail(name, f"expected a whole number, got {value!r}")
    if minimum is not None and number < minimum:
        fail(name, f"must be at least {minimum}, got {number}")
    return number


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        return float(value)
    except ValueError:
        fail(name, f"expected a number, got {value!r}")
    return default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]
