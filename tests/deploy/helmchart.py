"""Load, validate and render `helm/gateway` the way `helm template` would, with gotemplate.py.

Helm's order is kept: values.yaml deep-merged with the user's values (a null deletes a key),
numbers turned into floats (Helm's values go through JSON), the merged values checked against
values.schema.json, then every template that does not start with "_" rendered with the helpers
of all files, and the output split into YAML documents.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import yaml
from gotemplate import Templates
from schema07 import validate

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "gateway"
RELEASE = {
    "Name": "gw",
    "Namespace": "edoc",
    "Service": "Helm",
    "IsInstall": True,
    "IsUpgrade": False,
    "Revision": 1,
}


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


def default_values() -> dict[str, Any]:
    return load_yaml((CHART / "values.yaml").read_text(encoding="utf-8"))


def schema() -> dict[str, Any]:
    return json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))


def chart_meta() -> dict[str, Any]:
    meta = load_yaml((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    return {"Name": meta["name"], "Version": meta["version"], "AppVersion": meta["appVersion"]}


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, val in override.items():
        if val is None:
            out.pop(key, None)
        elif isinstance(val, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], val)
        else:
            out[key] = copy.deepcopy(val)
    return out


def as_helm_numbers(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str | float):
        return v
    if isinstance(v, int):
        return float(v)
    if isinstance(v, dict):
        return {k: as_helm_numbers(x) for k, x in v.items()}
    if isinstance(v, list):
        return [as_helm_numbers(x) for x in v]
    raise TypeError(f"values may not hold {type(v).__name__}: {v!r}")


def values_for(override: dict[str, Any] | None = None) -> dict[str, Any]:
    return as_helm_numbers(merge(default_values(), override or {}))


def template_files() -> dict[str, str]:
    tdir = CHART / "templates"
    return {
        f"{CHART.name}/templates/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted(tdir.iterdir())
        if p.is_file()
    }


# --- scenarios shared by the tests: defaults, and two production-like installs ---------------

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
}
PRODUCTION_INLINE_SECRETS: dict[str, Any] = {
    "config": {"environment": "production", "nodeCode": "00.53.W00"},
    "secrets": FAKE_SECRETS,
}

SCENARIOS = {
    "defaults": {},
    "production-existing-secret": PRODUCTION_EXISTING_SECRET,
    "production-inline-secrets": PRODUCTION_INLINE_SECRETS,
}


_SEP = re.compile(r"(?:^|\s*\n)---\s*")


def render(override: dict[str, Any] | None = None, release: str = "gw") -> dict[str, str]:
    """Rendered text of every non-partial template (NOTES.txt included), by file name.

    Raises AssertionError when the values fail the schema (as Helm refuses to render)."""
    values = values_for(override)
    errors = validate(values, schema())
    assert not errors, "values fail values.schema.json:\n" + "\n".join(errors)
    files = template_files()
    tpl = Templates(files)
    root = {"Values": values, "Release": {**RELEASE, "Name": release}, "Chart": chart_meta()}
    return {
        name: tpl.render(name, root)
        for name in files
        if not Path(name).name.startswith("_")
    }


def manifests(override: dict[str, Any] | None = None, release: str = "gw") -> list[dict[str, Any]]:
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
