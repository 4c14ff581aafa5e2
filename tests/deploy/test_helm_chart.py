"""Render and lint helm/gateway with Helm itself, check every manifest against Kubernetes'
own schemas (kubernetes-validate), and check what the gateway needs of them.

Scenarios (helmchart.SCENARIOS): the chart's defaults and the shipped examples (development on
the embedded database, production, external PostgreSQL/RabbitMQ); a production node bringing
its own Secret, with ingress, HPAs, client-certificate forwarding and a trust bundle; a
production node with inline secrets; development against real services.
"""

from __future__ import annotations

import base64
import os
import re
import tomllib
from typing import Any

import helmchart
import kubernetes_validate
import pytest

from gateway.settings import Settings

PRODUCTION_EXISTING_SECRET = helmchart.PRODUCTION_EXISTING_SECRET
PRODUCTION_INLINE_SECRETS = helmchart.PRODUCTION_INLINE_SECRETS
FAKE = helmchart.FAKE_SECRETS
SCENARIOS = helmchart.SCENARIOS
EMBEDDED = helmchart.EMBEDDED
DEV_EXTERNAL = helmchart.DEVELOPMENT_EXTERNAL
# Kubernetes' schemas: the oldest kubernetes-validate ships (docs/deployment.md asks for 1.23+,
# whose schemas it no longer carries) and the newest.
KUBERNETES = ["1.25.0", kubernetes_validate.latest_version()]
MIB = 1024 * 1024
HOOK = "helm.sh/hook"
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.fixture(scope="module", params=list(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, helmchart.manifests(SCENARIOS[request.param])


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def is_hook(doc: dict[str, Any]) -> bool:
    return HOOK in (doc["metadata"].get("annotations") or {})


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def container_port(deployment: dict[str, Any], port: int | str) -> int:
    """Resolve a probe/Service port (a number or a container port's name) to its number."""
    (container,) = pod_spec(deployment)["containers"]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    if isinstance(port, int):
        assert port in ports.values(), f"{port} is not a container port"
        return port
    assert port in ports, f"no container port named {port!r}"
    return ports[port]


# --------------------------------------------------------------------------- every template


def test_every_template_renders_in_every_scenario() -> None:
    templates = {n for n in helmchart.template_files() if not n.split("/")[-1].startswith("_")}
    for name, values in SCENARIOS.items():
        rendered = helmchart.render(values)
        assert set(rendered) == templates, name
        assert "<no value>" not in "".join(rendered.values())


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_helm_lint_strict_is_clean(name: str) -> None:
    report = helmchart.lint(SCENARIOS[name])
    assert report["errors"] == []
    # severity 2 = warning, 3 = error; 1 (info: "icon is recommended") is allowed
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_every_manifest_is_a_valid_kubernetes_object(
    scenario: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = scenario
    for version in KUBERNETES:
        for d in docs:
            # strict: an unknown or misspelt field is an error, as the API server's would be
            kubernetes_validate.validate(d, version, strict=True)


def test_kubernetes_validate_does_refuse_a_broken_manifest() -> None:
    api = one(helmchart.manifests(), "Deployment", "gw-gateway-api")
    pod_spec(api)["containers"][0]["imagePullPolicy"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(api, KUBERNETES[0], strict=True)


def test_the_expected_objects_and_only_those() -> None:
    kinds = {
        name: sorted((d["kind"], d["metadata"]["name"]) for d in helmchart.manifests(values))
        for name, values in SCENARIOS.items()
    }
    embedded = sorted([
        ("ConfigMap", "gw-gateway"),
        ("Deployment", "gw-gateway-api"),
        ("Secret", "gw-gateway"),
        ("Service", "gw-gateway"),
        ("ServiceAccount", "gw-gateway"),
    ])
    assert kinds["defaults"] == kinds["example-development"] == embedded
    assert kinds["development-external"] == sorted([
        ("ConfigMap", "gw-gateway"),
        ("Deployment", "gw-gateway-api"),
        ("Deployment", "gw-gateway-relay"),
        ("Deployment", "gw-gateway-worker"),
        ("Job", "gw-gateway-migrate"),
        ("PodDisruptionBudget", "gw-gateway-api"),
        ("PodDisruptionBudget", "gw-gateway-worker"),
        ("Secret", "gw-gateway"),
        ("Secret", "gw-gateway-migrate"),
        ("Service", "gw-gateway"),
        ("ServiceAccount", "gw-gateway"),
    ])
    prod = set(kinds["production-existing-secret"])
    assert {
        ("Ingress", "gw-gateway"),
        ("HorizontalPodAutoscaler", "gw-gateway-api"),
        ("HorizontalPodAutoscaler", "gw-gateway-worker"),
        ("ConfigMap", "gw-gateway-trust"),
    } <= prod
    assert not [k for k in prod if k[0] == "Secret"], "existingSecret: the chart makes none"


def test_manifests_have_identity_and_labels(scenario: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = scenario
    seen = set()
    for d in docs:
        assert isinstance(d.get("apiVersion"), str) and d["apiVersion"]
        assert isinstance(d.get("kind"), str) and d["kind"]
        meta = d["metadata"]
        name = meta["name"]
        assert DNS_1123.match(name) and len(name) <= 63, name
        assert "namespace" not in meta, "Helm sets the namespace"
        assert (d["kind"], name) not in seen, f"duplicate {d['kind']} {name}"
        seen.add((d["kind"], name))
        labels = meta["labels"]
        assert labels["app.kubernetes.io/name"] == "gateway"
        assert labels["app.kubernetes.io/instance"] == "gw"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"] == "gateway-0.1.0"
        assert labels["app.kubernetes.io/version"] == "0.1.0"
        for key, value in labels.items():
            assert isinstance(value, str) and len(value) <= 63, (key, value)


def test_api_versions_are_current() -> None:
    expected = {
        "Deployment": "apps/v1",
        "Job": "batch/v1",
        "Service": "v1",
        "Secret": "v1",
        "ConfigMap": "v1",
        "ServiceAccount": "v1",
        "Ingress": "networking.k8s.io/v1",
        "HorizontalPodAutoscaler": "autoscaling/v2",
        "PodDisruptionBudget": "policy/v1",
    }
    for d in helmchart.manifests(PRODUCTION_EXISTING_SECRET):
        assert d["apiVersion"] == expected[d["kind"]], d["kind"]


def test_long_release_names_still_fit() -> None:
    release = "a-very-long-release-name-for-the-provincial-document-gateway-x"
    for d in helmchart.manifests(PRODUCTION_EXISTING_SECRET, release=release):
        assert len(d["metadata"]["name"]) <= 63
        assert DNS_1123.match(d["metadata"]["name"])


# ------------------------------------------------------------------------------ workloads


def test_deployments(scenario: tuple[str, list[dict[str, Any]]]) -> None:
    name, docs = scenario
    deployments = by_kind(docs, "Deployment")
    components = {"api"} if name in EMBEDDED else {"api", "relay", "worker"}
    assert {
        d["metadata"]["labels"]["app.kubernetes.io/component"] for d in deployments
    } == components
    for d in deployments:
        component = d["metadata"]["labels"]["app.kubernetes.io/component"]
        selector = d["spec"]["selector"]["matchLabels"]
        template_labels = d["spec"]["template"]["metadata"]["labels"]
        assert selector["app.kubernetes.io/component"] == component
        assert labels_match(selector, template_labels)
        spec = pod_spec(d)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert isinstance(spec["securityContext"]["runAsUser"], int)
        assert spec["securityContext"]["runAsUser"] > 0
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        (c,) = spec["containers"]
        image = SCENARIOS[name].get("image", {})
        assert c["image"] == f"{image.get('repository', 'gateway')}:{image.get('tag', '0.1.0')}"
        assert c["command"] == ["gateway"]
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert {"cpu", "memory"} <= set(c["resources"]["requests"])
        assert {"cpu", "memory"} <= set(c["resources"]["limits"])
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        assert {"/tmp", "/var/lib/gateway"} <= set(mounts)
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert set(mounts.values()) <= set(volumes), "every mount has its volume"
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert "emptyDir" in volumes[mounts["/var/lib/gateway"]]
        names = [e["name"] for e in c["env"]]
        assert len(names) == len(set(names))
        assert all(n.startswith("GATEWAY_") for n in names)


def test_each_process_runs_its_command() -> None:
    docs = helmchart.manifests(DEV_EXTERNAL)
    args = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: pod_spec(d)["containers"][0]["args"]
        for d in by_kind(docs, "Deployment") + by_kind(docs, "Job")
    }
    assert args == {
        "api": ["serve", "--host", "0.0.0.0", "--port", "8080"],  # noqa: S104
        "relay": ["relay"],
        "worker": ["worker"],
        "migrate": ["db", "upgrade"],
    }


def test_api_probes_use_livez_and_readyz_on_8080(
    scenario: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = scenario
    api = one(docs, "Deployment", "gw-gateway-api")
    (c,) = pod_spec(api)["containers"]
    probes = {k: c[k]["httpGet"] for k in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes["startupProbe"]["path"] == "/livez"
    assert probes["livenessProbe"]["path"] == "/livez"
    assert probes["readinessProbe"]["path"] == "/readyz"
    for probe in probes.values():
        assert container_port(api, probe["port"]) == 8080
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


def test_relay_and_worker_have_no_http_probes() -> None:
    # They have no HTTP server: they exit non-zero on fatal loss of the database or broker,
    # and the kubelet restarts them. A probe here would be a lie.
    for name in ("gw-gateway-relay", "gw-gateway-worker"):
        (c,) = pod_spec(one(helmchart.manifests(DEV_EXTERNAL), "Deployment", name))["containers"]
        assert not {"startupProbe", "livenessProbe", "readinessProbe", "ports"} & set(c)


def test_only_the_hook_job_migrates(scenario: tuple[str, list[dict[str, Any]]]) -> None:
    name, docs = scenario
    config = one(docs, "ConfigMap", "gw-gateway")["data"]
    # On the embedded database the API pod's own SQLite file is migrated by the pod itself.
    assert config["GATEWAY_AUTO_MIGRATE"] == ("true" if name in EMBEDDED else "false")
    assert bool(by_kind(docs, "Job")) == (name not in EMBEDDED)
    for d in by_kind(docs, "Deployment"):
        (c,) = pod_spec(d)["containers"]
        assert c["envFrom"] == [{"configMapRef": {"name": "gw-gateway"}}]
        assert "GATEWAY_AUTO_MIGRATE" not in {e["name"] for e in c["env"]}


def test_settings_reach_the_pods() -> None:
    docs = helmchart.manifests(PRODUCTION_EXISTING_SECRET)
    config = one(docs, "ConfigMap", "gw-gateway")["data"]
    assert config == {
        "GATEWAY_ENVIRONMENT": "production",
        "GATEWAY_NODE_CODE": "00.53.W00",
        "GATEWAY_LOG_FORMAT": "json",
        "GATEWAY_DATA_DIR": "/var/lib/gateway",
        "GATEWAY_AUTO_MIGRATE": "false",
        "GATEWAY_MAX_BODY_BYTES": str(64 * MIB),
        "GATEWAY_CLIENT_CERT_HEADER": "ssl-client-subject-dn",
        "GATEWAY_TRUSTED_PROXIES": '["10.42.0.0/16"]',
        "GATEWAY_TRUST_BUNDLE": "/etc/gateway/trust/ca-bundle.pem",
        "GATEWAY_OFFICE_HOLIDAYS": "2025-09-02",
    }
    trust = one(docs, "ConfigMap", "gw-gateway-trust")["data"]
    assert trust == {"ca-bundle.pem": PRODUCTION_EXISTING_SECRET["trustBundle"]["pem"]}
    api = one(docs, "Deployment", "gw-gateway-api")
    (c,) = pod_spec(api)["containers"]
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(api)["volumes"]}
    assert mounts["trust"]["mountPath"] == "/etc/gateway/trust" and mounts["trust"]["readOnly"]
    assert volumes["trust"]["configMap"]["name"] == "gw-gateway-trust"
    assert mounts["keys"]["mountPath"] == "/etc/gateway/keys" and mounts["keys"]["readOnly"]
    assert volumes["keys"]["secret"]["secretName"] == "edoc-gateway-secrets"
    assert volumes["keys"]["secret"]["defaultMode"] == 0o440
    env = {e["name"]: e for e in c["env"]}
    assert env["GATEWAY_SIGNING_KEY_FILE"]["value"] == "/etc/gateway/keys/gateway-key.pem"
    assert env["GATEWAY_SIGNING_CERT_FILE"]["value"] == "/etc/gateway/keys/gateway-cert.pem"
    paths = {i["path"] for i in volumes["keys"]["secret"]["items"]}
    assert paths == {"gateway-key.pem", "gateway-cert.pem"}


def test_changing_a_setting_rolls_the_pods() -> None:
    def checksums(values: dict[str, Any]) -> dict[str, str]:
        api = one(helmchart.manifests(values), "Deployment", "gw-gateway-api")
        return api["spec"]["template"]["metadata"]["annotations"]

    base = checksums(PRODUCTION_INLINE_SECRETS)
    changed = checksums(
        helmchart.merge(PRODUCTION_INLINE_SECRETS, {"config": {"logFormat": "text"}})
    )
    rotated = checksums(helmchart.merge(
        PRODUCTION_INLINE_SECRETS,
        {"secrets": {"databaseUrl": "postgresql+asyncpg://gw:rotated@postgres/gateway"}},
    ))
    assert base["checksum/config"] != changed["checksum/config"]
    assert base["checksum/secret"] == changed["checksum/secret"]
    assert base["checksum/secret"] != rotated["checksum/secret"]


# ---------------------------------------------------------------------------------- secrets


def secret_refs(pod: dict[str, Any]) -> set[tuple[str, str, bool]]:
    refs = set()
    for c in pod["containers"]:
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                refs.add((ref["name"], ref["key"], ref.get("optional", False)))
    for v in pod.get("volumes", []):
        if "secret" in v:
            for item in v["secret"]["items"]:
                refs.add((v["secret"]["secretName"], item["key"], False))
    return refs


def test_the_secret_holds_every_kind_of_secret() -> None:
    docs = helmchart.manifests(PRODUCTION_INLINE_SECRETS)
    secret = one(docs, "Secret", "gw-gateway")
    assert not is_hook(secret), "the pods' Secret is an ordinary release object"
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data == {
        "database-url": FAKE["databaseUrl"],
        "broker-url": FAKE["brokerUrl"],
        "bootstrap-admin-key": FAKE["bootstrapAdminKey"],
        "gateway-key.pem": FAKE["signingKey"],
        "gateway-cert.pem": FAKE["signingCert"],
        "secrets-key": FAKE["secretsKey"],
        "audit-anchor-key": FAKE["auditAnchorKey"],
    }
    # Every key a pod reads from the chart's Secret is there.
    for d in by_kind(docs, "Deployment"):
        for name, key, _ in secret_refs(pod_spec(d)):
            assert name == "gw-gateway" and key in data
    api_env = {e["name"] for e in pod_spec(one(docs, "Deployment", "gw-gateway-api"))
               ["containers"][0]["env"]}
    assert {"GATEWAY_DATABASE_URL", "GATEWAY_BROKER_URL", "GATEWAY_BOOTSTRAP_ADMIN_KEY",
            "GATEWAY_SIGNING_KEY_FILE", "GATEWAY_SIGNING_CERT_FILE", "GATEWAY_SECRETS_KEY",
            "GATEWAY_AUDIT_ANCHOR_KEY"} <= api_env


def test_defaults_hold_no_secret_values() -> None:
    for d in by_kind(helmchart.manifests(), "Secret"):
        assert all(base64.b64decode(v) == b"" for v in d["data"].values()), d["metadata"]["name"]


def test_existing_secret_is_read_with_the_documented_keys() -> None:
    docs = helmchart.manifests(PRODUCTION_EXISTING_SECRET)
    documented = {"database-url", "broker-url", "bootstrap-admin-key", "gateway-key.pem",
                  "gateway-cert.pem", "secrets-key", "audit-anchor-key"}
    # optional: the API creates no operator without it; development generates the two keys
    optional_keys = {"bootstrap-admin-key", "secrets-key", "audit-anchor-key"}
    for d in by_kind(docs, "Deployment") + by_kind(docs, "Job"):
        for name, key, optional in secret_refs(pod_spec(d)):
            assert name == "edoc-gateway-secrets"
            assert key in documented
            assert optional == (key in optional_keys)


# ------------------------------------------------------------------------ migration hook


@pytest.mark.parametrize("name", [n for n in SCENARIOS if n not in EMBEDDED])
def test_the_migration_job_is_a_self_sufficient_hook(name: str) -> None:
    docs = helmchart.manifests(SCENARIOS[name])
    job = one(docs, "Job", "gw-gateway-migrate")
    ann = job["metadata"]["annotations"]
    assert ann[HOOK] == "pre-install,pre-upgrade"
    assert ann["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    job_weight = int(ann["helm.sh/hook-weight"])
    spec = pod_spec(job)
    assert spec["restartPolicy"] == "Never"
    assert spec["automountServiceAccountToken"] is False
    (c,) = spec["containers"]
    assert c["command"] + c["args"] == ["gateway", "db", "upgrade"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert "envFrom" not in c, "the chart's ConfigMap does not exist yet on a first install"
    # The chart's own ServiceAccount does not exist yet either.
    assert spec.get("serviceAccountName", "default") not in {
        d["metadata"]["name"] for d in by_kind(docs, "ServiceAccount")
    }
    # Every Secret the Job reads is either brought by the operator, or a hook created before it.
    existing = SCENARIOS[name].get("secrets", {}).get("existingSecret")
    refs = secret_refs(spec)
    assert {key for _, key, _ in refs} == {"database-url", "broker-url"}
    for secret_name, _, _ in refs:
        if secret_name == existing:
            continue
        secret = one(docs, "Secret", secret_name)
        s_ann = secret["metadata"]["annotations"]
        assert s_ann[HOOK] == ann[HOOK]
        assert int(s_ann["helm.sh/hook-weight"]) < job_weight
        assert "hook-succeeded" in s_ann["helm.sh/hook-delete-policy"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    production = name != "development-external"
    assert env["GATEWAY_ENVIRONMENT"] == ("production" if production else "development")
    if production:
        assert env["GATEWAY_NODE_CODE"] == "00.53.W00"
    # Only the Job and its Secret are hooks.
    assert {d["kind"] for d in docs if is_hook(d)} <= {"Job", "Secret"}


def test_hook_secret_carries_the_migration_urls_only() -> None:
    secret = one(helmchart.manifests(PRODUCTION_INLINE_SECRETS), "Secret", "gw-gateway-migrate")
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data == {"database-url": FAKE["databaseUrl"], "broker-url": FAKE["brokerUrl"]}


def test_migrations_can_be_disabled() -> None:
    docs = helmchart.manifests(helmchart.merge(DEV_EXTERNAL, {"migrations": {"enabled": False}}))
    assert not by_kind(docs, "Job")
    assert not [d for d in docs if is_hook(d)]


# --------------------------------------------------------------------- service and friends


def test_service_targets_the_api_container_port(
    scenario: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = scenario
    svc = one(docs, "Service", "gw-gateway")
    api = one(docs, "Deployment", "gw-gateway-api")
    assert labels_match(svc["spec"]["selector"], api["spec"]["template"]["metadata"]["labels"])
    for other in by_kind(docs, "Deployment"):
        if other is not api:
            pod_labels = other["spec"]["template"]["metadata"]["labels"]
            assert not labels_match(svc["spec"]["selector"], pod_labels)
    assert svc["spec"]["selector"] == api["spec"]["selector"]["matchLabels"]
    (port,) = svc["spec"]["ports"]
    assert port["port"] == 80
    assert container_port(api, port["targetPort"]) == 8080


def test_ingress_routes_to_the_service() -> None:
    docs = helmchart.manifests(PRODUCTION_EXISTING_SECRET)
    ing = one(docs, "Ingress", "gw-gateway")
    svc = one(docs, "Service", "gw-gateway")
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [{"hosts": ["edoc.example.gov.vn"], "secretName": "edoc-tls"}]
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == "edoc.example.gov.vn"
    (path,) = rule["http"]["paths"]
    assert path["pathType"] == "Prefix" and path["path"] == "/"
    backend = path["backend"]["service"]
    assert backend["name"] == svc["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in svc["spec"]["ports"]}


def test_hpas_target_their_deployments() -> None:
    docs = helmchart.manifests(PRODUCTION_EXISTING_SECRET)
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    assert len(hpas) == 2
    for hpa in hpas:
        component = hpa["metadata"]["labels"]["app.kubernetes.io/component"]
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref["apiVersion"] == "apps/v1" and ref["kind"] == "Deployment"
        target = one(docs, "Deployment", ref["name"])
        assert target["metadata"]["labels"]["app.kubernetes.io/component"] == component
        assert component in {"api", "worker"}
        # The HPA owns the replica count: the Deployment must not fight it on upgrades.
        assert "replicas" not in target["spec"]
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert one(docs, "HorizontalPodAutoscaler", "gw-gateway-worker")["spec"]["maxReplicas"] == 20
    relay = one(docs, "Deployment", "gw-gateway-relay")
    assert relay["spec"]["replicas"] == 1


def test_default_replicas() -> None:
    docs = helmchart.manifests(DEV_EXTERNAL)
    replicas = {d["metadata"]["name"]: d["spec"]["replicas"] for d in by_kind(docs, "Deployment")}
    assert replicas == {"gw-gateway-api": 2, "gw-gateway-relay": 1, "gw-gateway-worker": 2}


@pytest.mark.parametrize("name", sorted(EMBEDDED))
def test_development_never_runs_two_pods_on_two_sqlite_files(name: str) -> None:
    """Without a database every pod would open its own SQLite file: one API pod does it all
    (relay and delivery in-process), whatever replicas or autoscaling say, and an update
    replaces it rather than running two side by side behind the Service."""
    values = helmchart.merge(
        SCENARIOS[name],
        {"api": {"replicas": 3, "autoscaling": {"enabled": True}},
         "worker": {"autoscaling": {"enabled": True}}},
    )
    docs = helmchart.manifests(values)
    (api,) = by_kind(docs, "Deployment")
    assert api["spec"]["replicas"] == 1
    assert api["spec"]["strategy"] == {"type": "Recreate"}
    assert not by_kind(docs, "HorizontalPodAutoscaler") + by_kind(docs, "PodDisruptionBudget")
    notes = helmchart.render(values)["gateway/templates/NOTES.txt"]
    assert "ONE API pod" in notes


def test_pdbs_select_exactly_their_pods(scenario: tuple[str, list[dict[str, Any]]]) -> None:
    name, docs = scenario
    pdbs = by_kind(docs, "PodDisruptionBudget")
    assert {p["metadata"]["labels"]["app.kubernetes.io/component"] for p in pdbs} == (
        set() if name in EMBEDDED else {"api", "worker"}
    )
    for pdb in pdbs:
        assert pdb["spec"]["minAvailable"] == 1
        selected = [
            d["metadata"]["name"]
            for d in by_kind(docs, "Deployment")
            if labels_match(pdb["spec"]["selector"]["matchLabels"],
                            d["spec"]["template"]["metadata"]["labels"])
        ]
        assert selected == [pdb["metadata"]["name"]]
        # Exactly the Deployment's selector: no version label that would stop matching the
        # old pods during an upgrade.
        target = one(docs, "Deployment", pdb["metadata"]["name"])
        assert pdb["spec"]["selector"]["matchLabels"] == target["spec"]["selector"]["matchLabels"]


def test_service_account_has_no_token() -> None:
    sa = one(helmchart.manifests(), "ServiceAccount", "gw-gateway")
    assert sa["automountServiceAccountToken"] is False


def test_notes_warn_outside_production() -> None:
    assert "WARNING" in helmchart.render()["gateway/templates/NOTES.txt"]
    notes = helmchart.render(PRODUCTION_EXISTING_SECRET)["gateway/templates/NOTES.txt"]
    assert "WARNING" not in notes
    assert "https://edoc.example.gov.vn/" in notes


def test_pod_labels_are_added_to_every_workload() -> None:
    docs = helmchart.manifests({"podLabels": {"team": "edoc"}})
    for d in by_kind(docs, "Deployment"):
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert labels["team"] == "edoc"
        assert labels_match(d["spec"]["selector"]["matchLabels"], labels)


# ------------------------------------------------------------------ what the gateway needs


@pytest.mark.parametrize("mib", [64, 25, 200])
def test_the_ingress_body_limit_is_the_gateways(mib: int) -> None:
    values = helmchart.merge(PRODUCTION_EXISTING_SECRET, {"config": {"maxBodyMiB": mib}})
    docs = helmchart.manifests(values)
    ingress = one(docs, "Ingress", "gw-gateway")["metadata"]["annotations"]
    config = one(docs, "ConfigMap", "gw-gateway")["data"]
    assert ingress["nginx.ingress.kubernetes.io/proxy-body-size"] == f"{mib}m"
    assert int(config["GATEWAY_MAX_BODY_BYTES"]) == mib * MIB
    # the operator's own annotations are kept beside it
    assert ingress["nginx.ingress.kubernetes.io/auth-tls-verify-client"] == "on"


def test_the_charts_default_body_limit_is_the_gateways_default() -> None:
    default = helmchart.default_values()["config"]["maxBodyMiB"] * MIB
    assert default == Settings.model_fields["max_body_bytes"].default


def test_the_docs_deploy_the_image_they_build() -> None:
    """docs/deployment.md builds an image and installs the chart with the production example:
    the example's image is the one built, and its tag the version the project builds."""
    root = helmchart.ROOT
    docs = (root / "docs" / "deployment.md").read_text(encoding="utf-8")
    (built,) = re.findall(r"docker build -t (\S+) \.", docs)
    assert "-f helm/examples/production.yaml" in docs
    image = helmchart.example("production")["image"]
    assert built == f"{image['repository']}:{image['tag']}"
    version = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert image["tag"] == version["version"] == helmchart.chart().metadata["appVersion"]


def test_a_production_install_gives_the_pods_every_setting_the_gateway_requires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The API pod's environment as Kubernetes would build it (ConfigMap + env, secrets
    resolved from the chart's Secret) passes the gateway's own production checks."""
    values = helmchart.merge(
        PRODUCTION_INLINE_SECRETS, {"trustBundle": PRODUCTION_EXISTING_SECRET["trustBundle"]}
    )
    docs = helmchart.manifests(values)
    config = one(docs, "ConfigMap", "gw-gateway")["data"]
    secret_data = one(docs, "Secret", "gw-gateway")["data"]
    secret = {k: base64.b64decode(v).decode() for k, v in secret_data.items()}
    (c,) = pod_spec(one(docs, "Deployment", "gw-gateway-api"))["containers"]
    env = dict(config)
    for e in c["env"]:
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        env[e["name"]] = secret[ref["key"]] if ref else e["value"]
    for name in [n for n in os.environ if n.startswith("GATEWAY_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.environment == "production"
    settings.check_service_runtime()  # raises on the first missing production setting
