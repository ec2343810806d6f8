"""The difference between two JSON values, and applying it back:
`patch(old, diff(old, new)) == new` for any JSON values old and new.

A delta is itself JSON, one of:
  {}                                    no change
  {"v": value}                          the new value, whole (a scalar, or a change of type)
  {"d": {key: delta}, "x": [key, ...]}  a dict: its changed or added keys, and its removed keys
  {"n": length, "i": {"index": delta}, "a": [item, ...]}
                                        a list: its new length, its changed items among those it
                                        kept, and the items appended after them
A list that only grows (a history, a round log) costs only what was
appended; an item inserted or dropped at the front costs a change to every
item after it.
"""


def diff(old, new) -> dict:
    return _delta(old, new) or {}


def patch(old, delta: dict):
    """The value `delta` (from diff) turns `old` into; `old` is not changed."""
    if not delta:
        return old
    if "v" in delta:
        return delta["v"]
    if "d" in delta:
        new = {k: v for k, v in old.items() if k not in delta.get("x", ())}
        for k, sub in delta["d"].items():
            new[k] = patch(old[k], sub) if k in old else sub["v"]
        return new
    new = old[:delta["n"]]
    for i, sub in delta.get("i", {}).items():
        new[int(i)] = patch(new[int(i)], sub)
    return new + delta.get("a", [])


def _delta(old, new) -> dict | None:
    """None when old and new are the same JSON value (True and 1, or 1 and 1.0, are not)."""
    if isinstance(old, dict) and isinstance(new, dict):
        changed = {}
        for k, v in new.items():
            sub = _delta(old[k], v) if k in old else {"v": v}
            if sub is not None:
                changed[k] = sub
        removed = [k for k in old if k not in new]
        if not changed and not removed:
            return None
        return {"d": changed, **({"x": removed} if removed else {})}
    if isinstance(old, list) and isinstance(new, list):
        kept = min(len(old), len(new))
        items = {}
        for i in range(kept):
            sub = _delta(old[i], new[i])
            if sub is not None:
                items[str(i)] = sub
        if not items and len(old) == len(new):
            return None
        return {"n": len(new), **({"i": items} if items else {}), **({"a": new[kept:]} if len(new) > kept else {})}
    if type(old) is type(new) and old == new:
        return None
    return {"v": new}

