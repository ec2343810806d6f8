"""JSON-schema validation of structured output (agents' actions and replies)
and extraction of the JSON object from a model's reply."""

from __future__ import annotations

import json
import math
from typing import Any

from collab.core.text import storable_json


class SchemaError(ValueError):
    pass


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
    if expected == "integer":
        if isinstance(value, bool):
            return False, value
        if isinstance(value, int):
            return True, value
        # JSON has one number type: 3.0 is a whole number (as in draft 2020-12).
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return True, int(value)
        return False, value
    if expected == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok and math.isfinite(value), value
    return json_type(value) == expected, value


def _check(value: Any, schema: dict, path: str) -> Any:
    expected = schema.get("type")
    if expected is not None:
        options = [expected] if isinstance(expected, str) else list(expected)
        for option in options:
            ok, coerced = as_type(value, option)
            if ok:
                value = coerced
                break
        else:
            got = "null" if value is None else f"{json_type(value)} {show_value(value)}"
            raise SchemaError(f"{path}: expected {' or '.join(options)}, got {got}")

    if "enum" in schema and not any(json_type(value) == json_type(o) and value == o for o in schema["enum"]):
        choices = ", ".join(show_value(o) for o in schema["enum"])
        raise SchemaError(f"{path}: {show_value(value)} is not one of {choices}")

    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaError(f"{path}: {show_value(value)} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaError(f"{path}: {show_value(value)} is above the maximum {schema['maximum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            raise SchemaError(f"{path}: {show_value(value)} must be greater than {schema['exclusiveMinimum']}")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            raise SchemaError(f"{path}: {show_value(value)} must be less than {schema['exclusiveMaximum']}")

    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            raise SchemaError(f"{path}: needs at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise SchemaError(f"{path}: longer than {schema['maxLength']} characters")

    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            raise SchemaError(f"{path}: needs at least {schema['minItems']} items, got {len(value)}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise SchemaError(f"{path}: allows at most {schema['maxItems']} items, got {len(value)}")
        if "items" in schema:
            value = [_check(item, schema["items"], f"{path}[{i}]") for i, item in enumerate(value)]
        if schema.get("uniqueItems"):
            seen = set()
            for i, item in enumerate(value):
                marker = json.dumps(item, sort_keys=True)
                if marker in seen:
                    raise SchemaError(f"{path}[{i}]: {show_value(item)} appears more than once")
                seen.add(marker)

    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise SchemaError(f"{path}: missing required field '{name}'")
        extra = schema.get("additionalProperties")
        clean = {}
        for name, item in value.items():
            if name in properties:
                clean[name] = _check(item, properties[name], f"{path}.{name}")
            elif extra is False:
                allowed = ", ".join(properties) or "none"
                raise SchemaError(f"{path}: unexpected field '{name}' (allowed: {allowed})")
            elif isinstance(extra, dict):
                clean[name] = _check(item, extra, f"{path}.{name}")
            # Otherwise unknown fields (a model's "reasoning", say) are dropped from the clean action.
        value = clean
    return value


def validate_json(value: Any, schema: dict, path: str = "action") -> tuple[Any, str | None]:
    """Check `value` against a draft 2020-12 subset: type (with integer vs number),
    enum, minimum/maximum (and exclusive), minLength/maxLength, items,
    minItems/maxItems, uniqueItems, properties, required, additionalProperties.
    Returns (clean value, None) or (None, readable reason). Whole floats are
    turned into ints for "integer"; unknown object fields are dropped unless
    additionalProperties is false (then they are an error)."""
    try:
        return _check(value, schema, path), None
    except SchemaError as exc:
        return None, str(exc)


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
