"""values.schema.json: the defaults, the shipped examples and realistic installs pass;
mistakes are refused, by `jsonschema` and by Helm itself alike."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import helmchart
import jsonschema
import pytest

PRODUCTION_EXISTING_SECRET = helmchart.PRODUCTION_EXISTING_SECRET
PRODUCTION_INLINE_SECRETS = helmchart.PRODUCTION_INLINE_SECRETS


def validator() -> jsonschema.Draft7Validator:
    schema = helmchart.schema()
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def errors(override: dict[str, Any]) -> set[tuple[str, str]]:
    """(path of the value, schema keyword) of every error in the values Helm would use."""
    return {
        ("/".join(map(str, e.absolute_path)), e.validator)
        for e in validator().iter_errors(helmchart.values_for(override))
    }


@pytest.mark.parametrize("name", list(helmchart.SCENARIOS))
def test_valid_values_pass(name: str) -> None:
    assert errors(helmchart.SCENARIOS[name]) == set()


def test_the_defaults_hold_as_they_are_written() -> None:
    assert list(validator().iter_errors(helmchart.default_values())) == []


def without_node_code(values: dict[str, Any]) -> dict[str, Any]:
    values = helmchart.merge(values, {})
    del values["config"]["nodeCode"]
    return values


# case: (values, (path of the refused value, the schema keyword that refuses it))
BAD = {
    "production without nodeCode": (
        without_node_code(PRODUCTION_EXISTING_SECRET),
        ("config", "required"),
    ),
    "production with the example node code": (
        {
            "config": {"environment": "production", "nodeCode": "00.99.W00"},
            "secrets": {"existingSecret": "s"},
        },
        ("config/nodeCode", "not"),
    ),
    "node code with a space": (
        {"config": {"nodeCode": "00.53 W00"}},
        ("config/nodeCode", "pattern"),
    ),
    "node code too long": (
        {"config": {"nodeCode": "0" * 36}},
        ("config/nodeCode", "pattern"),
    ),
    "node code empty": (
        {"config": {"nodeCode": ""}},
        ("config/nodeCode", "pattern"),
    ),
    "unknown environment": (
        {"config": {"environment": "staging"}},
        ("config/environment", "enum"),
    ),
    "replicas as a string": (
        {"api": {"replicas": "two"}},
        ("api/replicas", "type"),
    ),
    "fractional replicas": (
        {"worker": {"replicas": 1.5}},
        ("worker/replicas", "type"),
    ),
    "enabled as a string": (
        {"ingress": {"enabled": "yes", "host": "a.b"}},
        ("ingress/enabled", "type"),
    ),
    "misspelt key": (
        {"api": {"replica": 3}},
        ("api", "additionalProperties"),
    ),
    "unknown top-level key": (
        {"replicaCount": 3},
        ("", "additionalProperties"),
    ),
    "production without any secret": (
        {"config": {"environment": "production", "nodeCode": "00.53.W00"}},
        ("secrets", "anyOf"),
    ),
    "production with inline secrets but no broker": (
        helmchart.merge(PRODUCTION_INLINE_SECRETS, {"secrets": {"brokerUrl": ""}}),
        ("secrets", "anyOf"),
    ),
    "a SQLite database URL": (
        {"secrets": {"databaseUrl": "sqlite+aiosqlite:///x.db"}},
        ("secrets/databaseUrl", "pattern"),
    ),
    "ingress without host": (
        {"ingress": {"enabled": True}},
        ("ingress/host", "minLength"),
    ),
    "client certificates believed from nobody": (
        {"config": {"clientCertHeader": "ssl-client-subject-dn"}},
        ("config/trustedProxies", "minItems"),
    ),
    "client certificates believed from everybody": (
        {"config": {"clientCertHeader": "x-client-cert", "trustedProxies": ["0.0.0.0/0"]}},
        ("config/trustedProxies/0", "not"),
    ),
    "extraEnv overriding a managed setting": (
        {"config": {"extraEnv": {"GATEWAY_AUTO_MIGRATE": "true"}}},
        ("config/extraEnv", "not"),
    ),
    "extraEnv outside GATEWAY_": (
        {"config": {"extraEnv": {"PATH": "/x"}}},
        ("config/extraEnv", "pattern"),
    ),
    "extraEnv not a string": (
        {"config": {"extraEnv": {"GATEWAY_DB_ECHO": True}}},
        ("config/extraEnv/GATEWAY_DB_ECHO", "type"),
    ),
    "bad resource quantity": (
        {"api": {"resources": {"limits": {"memory": "1 GB"}}}},
        ("api/resources/limits/memory", "anyOf"),
    ),
    "HPA target over 100%": (
        {"api": {"autoscaling": {"targetCPUUtilizationPercentage": 150}}},
        ("api/autoscaling/targetCPUUtilizationPercentage", "maximum"),
    ),
    "bad pull policy": (
        {"image": {"pullPolicy": "Sometimes"}},
        ("image/pullPolicy", "enum"),
    ),
    "pod label clashing with a selector label": (
        {"podLabels": {"app.kubernetes.io/component": "x"}},
        ("podLabels", "not"),
    ),
    "body limit of zero": ({"config": {"maxBodyMiB": 0}}, ("config/maxBodyMiB", "minimum")),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_values_are_refused(case: str) -> None:
    override, expected = BAD[case]
    assert expected in errors(override), errors(override)


@pytest.mark.parametrize("case", list(BAD))
def test_helm_refuses_what_the_schema_refuses(case: str) -> None:
    override, _ = BAD[case]
    with pytest.raises(helm.HelmValuesError, match="values don't meet the specifications"):
        helmchart.render(override)


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
