"""Render and lint `helm/gateway` with Helm itself (helm-python-sdk embeds Helm v4: no binary,
no cluster, no network), and parse what it renders.

Helm does what an install does: values.yaml coalesced with the user's values, the result
checked against values.schema.json (a failure raises `helm_python.HelmValuesError`), every
template rendered. The scenarios are the example values files shipped in helm/examples/ and a
few installs the tests need on top of them.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "gateway"
EXAMPLES = ROOT / "helm" / "examples"
RELEASE = "gw"
NAMESPACE = "edoc"


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate mapping keys (the API server would too)."""


def _no_duplicates(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise yaml.constructor.ConstructorError(
            None, None, f"duplicate keys {sorted(map(str, dupes))}", node.start_mark
        )
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader subclass)


@cache
def chart() -> helm.Chart:
    """The chart, loaded once per test process (charts are immutable)."""
    return helm.Chart.load(CHART)


def default_values() -> dict[str, Any]:
    return load_yaml((CHART / "values.yaml").read_text(encoding="utf-8"))


def schema() -> dict[str, Any]:
    return json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of user values over defaults (a null deletes a key), for building
    scenarios from one another."""
    out = copy.deepcopy(base)
    for key, val in override.items():
        if val is None:
            out.pop(key, None)
        elif isinstance(val, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], val)
        else:
            out[key] = copy.deepcopy(val)
    return out


def values_for(override: dict[str, Any] | None = None) -> dict[str, Any]:
    """The values an install with `override` would use, as Helm computes them."""
    return chart().merge_values(override or {})


def example(name: str) -> dict[str, Any]:
    return load_yaml((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))


def template_files() -> list[str]:
    return sorted(f"{CHART.name}/templates/{p.name}" for p in (CHART / "templates").iterdir())


# --- scenarios shared by the tests ------------------------------------------------------------

PRODUCTION_EXISTING_SECRET: dict[str, Any] = {
    "config": {
        "environment": "production",
        "nodeCode": "00.53.W00",
        "clientCertHeader": "ssl-client-subject-dn",
        "trustedProxies": ["10.42.0.0/16"],
        "extraEnv": {"GATEWAY_OFFICE_HOLIDAYS": "2025-09-02"},
    },
    "secrets": {"existingSecret": "edoc-gateway-secrets"},
    "trustBundle": {"pem": "-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n"},
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "host": "edoc.example.gov.vn",
        "tls": {"secretName": "edoc-tls"},
        "annotations": {"nginx.ingress.kubernetes.io/auth-tls-verify-client": "on"},
    },
    "api": {"autoscaling": {"enabled": True}},
    "worker": {"autoscaling": {"enabled": True, "maxReplicas": 20}},
}

FAKE_SECRETS = {
    "databaseUrl": "postgresql+asyncpg://gw:not-a-real-password@postgres/gateway",
    "brokerUrl": "amqp://gw:not-a-real-password@rabbitmq:5672/edoc",
    "bootstrapAdminKey": "test-only-bootstrap-key",
    "signingKey": "-----BEGIN PRIVATE KEY-----\nTEST ONLY\n-----END PRIVATE KEY-----\n",
    "signingCert": "-----BEGIN CERTIFICATE-----\nTEST ONLY\n-----END CERTIFICATE-----\n",
    "secretsKey": "LUxo3ZWGQqYx4XyDtCvJBv0kkD3XWkSxjwO6U3KJm6o=",
    "auditAnchorKey": "test-only-audit-anchor-key-of-32-chars-or-more",
}
PRODUCTION_INLINE_SECRETS: dict[str, Any] = {
    "config": {"environment": "production", "nodeCode": "00.53.W00"},
    "secrets": FAKE_SECRETS,
}
# Development against real services: the full topology, as in production.
DEVELOPMENT_EXTERNAL: dict[str, Any] = {
    "secrets": {"databaseUrl": FAKE_SECRETS["databaseUrl"], "brokerUrl": FAKE_SECRETS["brokerUrl"]}
}

SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "example-development": example("development"),
    "example-production": example("production"),
    "example-external-services": example("external-services"),
    "production-existing-secret": PRODUCTION_EXISTING_SECRET,
    "production-inline-secrets": PRODUCTION_INLINE_SECRETS,
    "development-external": DEVELOPMENT_EXTERNAL,
}
# Scenarios where the release brings no database: one API pod on the embedded SQLite file.
EMBEDDED = {"defaults", "example-development"}


def render(override: dict[str, Any] | None = None, release: str = RELEASE) -> dict[str, str]:
    """Rendered text of every template (NOTES.txt included, partials excluded), by file name.

    Raises `helm_python.HelmValuesError` when the values fail values.schema.json."""
    rendered = chart().render(
        values=override or {}, name=release, namespace=NAMESPACE, is_install=True
    )
    return {name: text for name, text in rendered.items() if not Path(name).name.startswith("_")}


_SEP = re.compile(r"(?m)^---\s*$")


def manifests(
    override: dict[str, Any] | None = None, release: str = RELEASE
) -> list[dict[str, Any]]:
    """Every Kubernetes object the chart renders, parsed (empty documents dropped)."""
    docs = []
    for name, text in render(override, release).items():
        if name.endswith("NOTES.txt"):
            continue
        for part in _SEP.split(text):
            if part.strip():
                doc = load_yaml(part)
                if doc is not None:
                    assert isinstance(doc, dict), f"{name}: a document is not a mapping"
                    docs.append(doc)
    return docs


def lint(override: dict[str, Any] | None = None) -> dict[str, Any]:
    """`helm lint --strict` of the chart with these values: Helm's own report."""
    return helm.lint(CHART, override or {}, strict=True, namespace=NAMESPACE)
