"""JSON-schema validation of structured output (agents' actions and replies),
with the jsonschema package and readable reasons, and extraction of the
JSON object from a model's reply."""

from __future__ import annotations

import json
import math
from typing import Any

import jsonschema

from collab.core.text import storable_json


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def show_value(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def as_type(value: Any, expected: str) -> tuple[bool, Any]:
    """Whether `value` is of JSON type `expected`, and the value as that type (3.0 as 3 for "integer")."""
    if expected == "integer":
        ok = _whole_number(None, value)
        return ok, int(value) if ok else value
    if expected == "number":
        return _finite_number(None, value), value
    return json_type(value) == expected, value


def _finite_number(checker, value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole_number(checker, value: Any) -> bool:
    # JSON has one number type: 3.0 is a whole number (as in draft 2020-12).
    return _finite_number(checker, value) and (isinstance(value, int) or float(value).is_integer())


# Draft 2020-12, with NaN and infinities refused as numbers (JSON has neither).
Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"number": _finite_number, "integer": _whole_number}),
)


def _where(path: str, error: jsonschema.ValidationError) -> str:
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _reason(error: jsonschema.ValidationError, path: str) -> str:
    """Today's readable wording for a jsonschema error."""
    where, keyword, value, rule = _where(path, error), error.validator, error.instance, error.validator_value
    if keyword == "type":
        options = [rule] if isinstance(rule, str) else list(rule)
        got = "null" if value is None else f"{json_type(value)} {show_value(value)}"
        return f"{where}: expected {' or '.join(options)}, got {got}"
    if keyword == "enum":
        return f"{where}: {show_value(value)} is not one of {', '.join(show_value(o) for o in rule)}"
    if keyword == "const":
        return f"{where}: must be {show_value(rule)}"
    if keyword == "minimum":
        return f"{where}: {show_value(value)} is below the minimum {rule}"
    if keyword == "maximum":
        return f"{where}: {show_value(value)} is above the maximum {rule}"
    if keyword == "exclusiveMinimum":
        return f"{where}: {show_value(value)} must be greater than {rule}"
    if keyword == "exclusiveMaximum":
        return f"{where}: {show_value(value)} must be less than {rule}"
    if keyword == "minLength":
        return f"{where}: needs at least {rule} characters"
    if keyword == "maxLength":
        return f"{where}: longer than {rule} characters"
    if keyword == "minItems":
        return f"{where}: needs at least {rule} items, got {len(value)}"
    if keyword == "maxItems":
        return f"{where}: allows at most {rule} items, got {len(value)}"
    if keyword == "uniqueItems":
        seen = set()
        for i, item in enumerate(value):
            marker = json.dumps(item, sort_keys=True)
            if marker in seen:
                return f"{where}[{i}]: {show_value(item)} appears more than once"
            seen.add(marker)
    if keyword == "required":
        missing = next(name for name in rule if name not in value)
        return f"{where}: missing required field '{missing}'"
    if keyword == "additionalProperties" and rule is False:
        allowed = list(error.schema.get("properties") or {})
        extra = next(name for name in value if name not in allowed)
        return f"{where}: unexpected field '{extra}' (allowed: {', '.join(allowed) or 'none'})"
    return f"{where}: {error.message[:200]}"


def _clean(value: Any, schema: dict) -> Any:
    """Whole floats as ints where the schema says integer; unknown object fields
    (a model's "reasoning", say) dropped unless additionalProperties keeps them."""
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind or [])
    if isinstance(value, float) and "integer" in kinds and "number" not in kinds and value.is_integer():
        return int(value)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_clean(item, schema["items"]) for item in value]
    if isinstance(value, dict) and ("properties" in schema or "additionalProperties" in schema):
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
        return {name: _clean(item, properties[name]) if name in properties else
                (_clean(item, extra) if isinstance(extra, dict) else item)
                for name, item in value.items() if name in properties or extra not in (None, False)}
    return value


def validate_json(value: Any, schema: dict, path: str = "action") -> tuple[Any, str | None]:
    """Check `value` against `schema` with jsonschema (Draft 2020-12).
    Returns (clean value, None) or (None, one readable reason: the error
    nearest the top of the value). Whole floats are turned into ints for
    "integer"; unknown object fields are dropped unless additionalProperties
    allows them (false makes them an error)."""
    errors = sorted(Validator(schema).iter_errors(value), key=lambda e: len(e.absolute_path))
    if errors:
        return None, _reason(errors[0], path)
    return _clean(value, schema), None


def parse_json_object(text: str) -> tuple[dict | None, str | None]:
    """Find the JSON object in a model reply (bare, or inside a ``` fence)."""
    cleaned = text.strip()
    if cleaned.startswith("```"):
        cleaned = cleaned.strip("`")
        cleaned = cleaned[cleaned.find("{"):] if "{" in cleaned else cleaned
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if start < 0 or end <= start:
        return None, "no JSON object in the reply"
    try:
        data = json.loads(cleaned[start:end + 1])
    except json.JSONDecodeError as exc:
        return None, f"broken JSON: {exc.msg} at position {exc.pos}"
    if not isinstance(data, dict):
        return None, "the JSON is not an object"
    return storable_json(data), None  # "\u0000" inside a JSON string decodes to a NUL
