"""pydantic's validation errors as the one line a user can act on: the key, the value as
written in params.yaml and what is allowed, in words read from the field's JSON schema (so
the words cannot drift from the rule that was applied)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError


class Inconsistent(ValueError):
    """Values each valid alone but not together: the message is the whole explanation."""


def explain(error: ValidationError, raw: Any, model: type[BaseModel]) -> str:
    """The first problem of validating ``raw`` (a mapping of sections) against ``model``."""
    problems = error.errors(include_url=False)
    # an unknown key first: a typo explains the other errors of its section
    first = next((p for p in problems if p["type"] == "extra_forbidden"), problems[0])
    loc = tuple(str(part) for part in first["loc"])
    if isinstance(first.get("ctx", {}).get("error"), Inconsistent):
        return str(first["ctx"]["error"])
    if first["type"] == "extra_forbidden":
        scope, _ = nested(model, loc[:-1])
        where = ".".join(loc[:-1]) or "the top level"
        keys = ", ".join(scope.model_fields)
        return f"unknown key '{'.'.join(loc)}' (allowed in {where}: {keys})"
    scope, depth = nested(model, loc)
    if depth >= len(loc):  # the problem is a whole section, e.g. `data: 3`
        where = ".".join(loc) or "the top level"
        return f"{where} must be a mapping of keys, got {show(first['input'])}"
    key = loc[depth]
    value = lookup(raw, loc[: depth + 1], first["input"])
    return f"{'.'.join(loc[: depth + 1])} = {show(value)} is not allowed (allowed: {allowed(scope, key)})"


def nested(model: type[BaseModel], loc: tuple[str, ...]) -> tuple[type[BaseModel], int]:
    """The innermost section along ``loc``, and how many parts of ``loc`` lead to it."""
    scope, depth = model, 0
    for part in loc:
        field = scope.model_fields.get(part)
        inner = field.annotation if field is not None else None
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            break
        scope, depth = inner, depth + 1
    return scope, depth


def lookup(raw: Any, loc: tuple[str, ...], default: Any) -> Any:
    """The value the user wrote at ``loc``, as written (before any conversion)."""
    for part in loc:
        if not isinstance(raw, dict) or part not in raw:
            return default
        raw = raw[part]
    return raw


def allowed(section: type[BaseModel], key: str) -> str:
    """What a section's key accepts, in words."""
    return describe(section.model_json_schema()["properties"][key])


def describe(schema: dict[str, Any]) -> str:
    """A JSON schema (of one params value) in words: 'an integer >= 1 and <= 16'."""
    if "anyOf" in schema:
        options = schema["anyOf"]
        if len(options) == 2 and options[1].get("type") == "array":  # one value or a list
            return f"{describe(options[0])}, or a non-empty list of them"
        return " or ".join(describe(option) for option in options)
    if "enum" in schema:
        return "one of " + ", ".join(repr(choice) for choice in schema["enum"])
    if schema.get("format") == "uri":
        return "an http:// or https:// URL"
    if schema.get("type") == "string" and schema.get("minLength"):
        return "a non-empty string"
    words = {
        "integer": "an integer",
        "number": "a number",
        "boolean": "true or false",
        "string": "a string",
        "null": "null",
    }[schema["type"]]
    signs = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    bounds = [f"{sign} {number(schema[name])}" for name, sign in signs.items() if name in schema]
    return f"{words} {' and '.join(bounds)}".strip()


def number(value: float) -> str:
    """3.0 as 3, 0.05 as 0.05."""
    return str(int(value)) if float(value).is_integer() else str(value)


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
