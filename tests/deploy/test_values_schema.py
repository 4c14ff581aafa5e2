"""values.schema.json: the defaults and realistic installs pass, mistakes are refused."""

from __future__ import annotations

from typing import Any

import helmchart
import pytest
from schema07 import SchemaKeywordError, validate

PRODUCTION_EXISTING_SECRET = helmchart.PRODUCTION_EXISTING_SECRET
PRODUCTION_INLINE_SECRETS = helmchart.PRODUCTION_INLINE_SECRETS


def errors(override: dict[str, Any]) -> list[str]:
    return validate(helmchart.values_for(override), helmchart.schema())


@pytest.mark.parametrize(
    "override",
    [{}, PRODUCTION_EXISTING_SECRET, PRODUCTION_INLINE_SECRETS],
    ids=["defaults", "production-existing-secret", "production-inline-secrets"],
)
def test_valid_values_pass(override: dict[str, Any]) -> None:
    assert errors(override) == []


def test_the_defaults_hold_as_they_are_written() -> None:
    # Helm validates after turning numbers into floats; validate the raw file too.
    assert validate(helmchart.default_values(), helmchart.schema()) == []


def without_node_code(values: dict[str, Any]) -> dict[str, Any]:
    values = helmchart.merge(values, {})
    del values["config"]["nodeCode"]
    return values


BAD = {
    "production without nodeCode": (
        without_node_code(PRODUCTION_EXISTING_SECRET), "'nodeCode' is required"),
    "production with the example node code": (
        {"config": {"environment": "production", "nodeCode": "00.99.W00"},
         "secrets": {"existingSecret": "s"}}, "00.99.W00"),
    "node code with a space": ({"config": {"nodeCode": "00.53 W00"}}, "does not match"),
    "node code too long": ({"config": {"nodeCode": "0" * 36}}, "does not match"),
    "node code empty": ({"config": {"nodeCode": ""}}, "does not match"),
    "unknown environment": ({"config": {"environment": "staging"}}, "is not one of"),
    "replicas as a string": ({"api": {"replicas": "two"}}, "is not of type"),
    "fractional replicas": ({"worker": {"replicas": 1.5}}, "is not of type"),
    "enabled as a string": ({"ingress": {"enabled": "yes", "host": "a.b"}}, "is not of type"),
    "misspelt key": ({"api": {"replica": 3}}, "additional property 'replica'"),
    "unknown top-level key": ({"replicaCount": 3}, "additional property 'replicaCount'"),
    "production without any secret": (
        {"config": {"environment": "production", "nodeCode": "00.53.W00"}}, "anyOf"),
    "production with inline secrets but no broker": (
        helmchart.merge(PRODUCTION_INLINE_SECRETS, {"secrets": {"brokerUrl": ""}}), "anyOf"),
    "a SQLite database URL": (
        {"secrets": {"databaseUrl": "sqlite+aiosqlite:///x.db"}}, "does not match"),
    "ingress without host": ({"ingress": {"enabled": True}}, "shorter than 1"),
    "client certificates believed from nobody": (
        {"config": {"clientCertHeader": "ssl-client-subject-dn"}}, "at least 1 items"),
    "client certificates believed from everybody": (
        {"config": {"clientCertHeader": "x-client-cert", "trustedProxies": ["0.0.0.0/0"]}},
        "must not match"),
    "extraEnv overriding a managed setting": (
        {"config": {"extraEnv": {"GATEWAY_AUTO_MIGRATE": "true"}}}, "must not match"),
    "extraEnv outside GATEWAY_": ({"config": {"extraEnv": {"PATH": "/x"}}}, "does not match"),
    "extraEnv not a string": (
        {"config": {"extraEnv": {"GATEWAY_DB_ECHO": True}}}, "is not of type"),
    "bad resource quantity": (
        {"api": {"resources": {"limits": {"memory": "1 GB"}}}}, "matches none of anyOf"),
    "HPA target over 100%": (
        {"api": {"autoscaling": {"targetCPUUtilizationPercentage": 150}}}, "greater than"),
    "bad pull policy": ({"image": {"pullPolicy": "Sometimes"}}, "is not one of"),
    "pod label clashing with a selector label": (
        {"podLabels": {"app.kubernetes.io/component": "x"}}, "must not match"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_values_are_refused(case: str) -> None:
    override, expected = BAD[case]
    found = errors(override)
    assert found, f"{case}: accepted"
    assert any(expected in e for e in found), found


def test_render_refuses_values_the_schema_refuses() -> None:
    with pytest.raises(AssertionError, match="nodeCode"):
        helmchart.render(without_node_code(PRODUCTION_EXISTING_SECRET))


def test_every_default_value_is_described() -> None:
    """Each leaf of values.yaml sits under a schema property (nothing slips through)."""
    schema = helmchart.schema()

    def resolve(s: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in s:
            s = schema["definitions"][s["$ref"].split("/")[-1]]
        return s

    def walk(value: Any, s: dict[str, Any], path: str) -> None:
        s = resolve(s)
        if isinstance(value, dict) and "properties" in s:
            for key, sub in value.items():
                assert key in s["properties"], f"{path}.{key} is not described"
                walk(sub, s["properties"][key], f"{path}.{key}")

    walk(helmchart.default_values(), schema, "$")


def test_the_validator_refuses_keywords_it_does_not_know() -> None:
    with pytest.raises(SchemaKeywordError):
        validate("x", {"format": "email"})
    with pytest.raises(SchemaKeywordError):
        validate({}, {"$ref": "other.json#/x"})


def test_the_validator_on_its_own() -> None:
    s = {"type": "integer", "minimum": 1}
    assert validate(2.0, s) == []  # Helm's numbers are floats
    assert validate(True, s)  # a boolean is not a number
    assert validate(0, s)
    assert validate("a", {"not": {"const": "a"}})
    assert validate(False, {"const": 0})
    cond = {"if": {"const": 1}, "then": {"type": "string"}, "else": {"type": "integer"}}
    assert validate(1, cond) and not validate(2, cond)
