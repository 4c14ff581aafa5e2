"""The backup CronJob of the chart (issue 15 item 4): off by default; when enabled, nightly
`gateway backups run` onto the given claim with the key from the given Secret."""

from __future__ import annotations

import copy

import helmchart
import pytest

ENABLED = {
    **helmchart.DEVELOPMENT_EXTERNAL,  # a shared database to back up
    "backup": {
        "enabled": True,
        "existingClaim": "gateway-backups",
        "keySecret": {"name": "gateway-backup-key", "key": "backup-key"},
        "keep": 30,
    }
}


def test_no_cronjob_by_default() -> None:
    assert not [d for d in helmchart.manifests({}) if d["kind"] == "CronJob"]


def test_cronjob_runs_encrypted_backups_onto_the_claim() -> None:
    [job] = [d for d in helmchart.manifests(copy.deepcopy(ENABLED)) if d["kind"] == "CronJob"]
    assert job["metadata"]["name"] == "gw-gateway-backup"
    spec = job["spec"]
    assert spec["schedule"] == "30 1 * * *" and spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["command"] == ["gateway"]
    assert container["args"] == ["backups", "run", "--dir", "/backups", "--keep", "30"]
    env = {e["name"]: e for e in container["env"]}
    assert env["GATEWAY_BACKUP_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "gateway-backup-key",
        "key": "backup-key",
    }
    assert "GATEWAY_DATABASE_URL" in env
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["backups"] == "/backups"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["backups"]["persistentVolumeClaim"]["claimName"] == "gateway-backups"
    assert pod["restartPolicy"] == "Never"


@pytest.mark.parametrize("missing", ["existingClaim", "keySecret"])
def test_enabled_needs_a_claim_and_a_key_secret(missing: str) -> None:
    values = copy.deepcopy(ENABLED)
    if missing == "keySecret":
        values["backup"]["keySecret"] = {"name": "", "key": "backup-key"}
    else:
        values["backup"][missing] = ""
    with pytest.raises(Exception):  # noqa: B017 - the schema validator's own error type
        helmchart.manifests(values)


def test_no_cronjob_on_the_embedded_database() -> None:
    """Only the API pod can read its own SQLite file: a CronJob there would back up nothing."""
    values = copy.deepcopy(ENABLED)
    del values["secrets"]
    assert not [d for d in helmchart.manifests(values) if d["kind"] == "CronJob"]
