"""A small JSON Schema draft-07 validator for the keywords values.schema.json uses.

`jsonschema` is not a dependency of the project, so the chart tests bring this. It refuses any
keyword it does not implement, so the schema cannot silently rely on one it ignores.
"""

from __future__ import annotations

import re
from typing import Any

ANNOTATIONS = {"$schema", "$id", "title", "description", "definitions", "default", "examples"}
KEYWORDS = {
    "type", "enum", "const", "pattern", "minLength", "minimum", "maximum", "minItems",
    "properties", "required", "additionalProperties", "propertyNames", "items",
    "allOf", "anyOf", "not", "if", "then", "else", "$ref",
}


class SchemaKeywordError(Exception):
    """The schema uses a keyword this validator does not implement."""


def _is_type(v: Any, t: str) -> bool:
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, list)
    if t == "string":
        return isinstance(v, str)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "null":
        return v is None
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    return t == "number" or (t == "integer" and float(v).is_integer())


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def validate(instance: Any, schema: dict[str, Any], root: dict[str, Any] | None = None,
             path: str = "$") -> list[str]:
    """All violations of `schema` by `instance`, as readable messages (empty: valid)."""
    root = root if root is not None else schema
    unknown = set(schema) - KEYWORDS - ANNOTATIONS
    if unknown:
        raise SchemaKeywordError(f"{path}: unsupported keywords {sorted(unknown)}")
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/definitions/"):
            raise SchemaKeywordError(f"{path}: unsupported $ref {ref}")
        return validate(instance, root["definitions"][ref.split("/")[-1]], root, path)
    errors: list[str] = []
    v = instance
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(v, t) for t in types):
            return [f"{path}: {v!r} is not of type {schema['type']}"]
    if "enum" in schema and not any(_equal(v, e) for e in schema["enum"]):
        errors.append(f"{path}: {v!r} is not one of {schema['enum']}")
    if "const" in schema and not _equal(v, schema["const"]):
        errors.append(f"{path}: {v!r} is not {schema['const']!r}")
    if isinstance(v, str):
        if "pattern" in schema and not re.search(schema["pattern"], v):
            errors.append(f"{path}: {v!r} does not match {schema['pattern']!r}")
        if "minLength" in schema and len(v) < schema["minLength"]:
            errors.append(f"{path}: {v!r} is shorter than {schema['minLength']}")
    if _is_type(v, "number"):
        if "minimum" in schema and v < schema["minimum"]:
            errors.append(f"{path}: {v!r} is less than {schema['minimum']}")
        if "maximum" in schema and v > schema["maximum"]:
            errors.append(f"{path}: {v!r} is greater than {schema['maximum']}")
    if isinstance(v, list):
        if "minItems" in schema and len(v) < schema["minItems"]:
            errors.append(f"{path}: needs at least {schema['minItems']} items")
        if "items" in schema:
            for i, item in enumerate(v):
                errors += validate(item, schema["items"], root, f"{path}[{i}]")
    if isinstance(v, dict):
        props = schema.get("properties", {})
        errors += [f"{path}: {r!r} is required" for r in schema.get("required", []) if r not in v]
        for key, val in v.items():
            if key in props:
                errors += validate(val, props[key], root, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: additional property {key!r} is not allowed")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += validate(val, schema["additionalProperties"], root, f"{path}.{key}")
            if "propertyNames" in schema:
                errors += validate(key, schema["propertyNames"], root, f"{path}.<{key}>")
    for sub in schema.get("allOf", []):
        errors += validate(v, sub, root, path)
    if "anyOf" in schema:
        results = [validate(v, sub, root, path) for sub in schema["anyOf"]]
        if all(results):
            errors.append(f"{path}: matches none of anyOf: " + " | ".join(r[0] for r in results))
    if "not" in schema and not validate(v, schema["not"], root, path):
        errors.append(f"{path}: {v!r} must not match {schema['not']}")
    if "if" in schema:
        branch = "then" if not validate(v, schema["if"], root, path) else "else"
        if branch in schema:
            errors += validate(v, schema[branch], root, path)
    return errors
