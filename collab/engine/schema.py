"""A small JSON-schema validator for structured agent output: the subset the
engine's schemas use (type, properties, required, enum, minimum, maximum,
minLength, maxLength, items, minItems, maxItems)."""

TYPES = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
}


def validate(value: object, schema: dict, path: str = "$") -> str | None:
    """Return None when `value` fits `schema`, else a readable reason."""
    expected = schema.get("type")
    if expected == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{path} must be a whole number"
    elif expected == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{path} must be a number"
    elif expected and not isinstance(value, TYPES[expected]):
        return f"{path} must be of type {expected}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{path} must be one of {schema['enum']} (got {value!r})"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{path} must be at least {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{path} must be at most {schema['maximum']}"
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return f"{path} must not be empty" if schema.get("minLength") == 1 else f"{path} is too short"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{path} is longer than {schema['maxLength']} characters"
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return f"{path} needs at least {schema['minItems']} items"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"{path} allows at most {schema['maxItems']} items"
        for i, item in enumerate(value):
            if "items" in schema and (reason := validate(item, schema["items"], f"{path}[{i}]")):
                return reason
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value or value[name] is None:
                return f"{path}.{name} is required"
        for name, sub in schema.get("properties", {}).items():
            if name in value and value[name] is not None and (reason := validate(value[name], sub, f"{path}.{name}")):
                return reason
    return None


def parse_json_object(text: str) -> tuple[dict | None, str | None]:
    """Find the JSON object in a model reply (bare, or inside a ``` fence)."""
    import json

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
    return data, None
