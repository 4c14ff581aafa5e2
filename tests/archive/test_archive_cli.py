"""`gateway archive export | verify | prune` on the embedded SQLite default."""

from __future__ import annotations

import asyncio
import zipfile
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.db import VIETNAM, utcnow
from gateway.settings import get_settings
from support.seeding import G22, running_gateway, seed


@pytest.fixture(autouse=True)
def _english(monkeypatch) -> None:
    """These tests read the commands' English output (Vietnamese is the default)."""
    monkeypatch.setenv("GATEWAY_LANG", "en")


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


async def _seed() -> dict:
    async with running_gateway(get_settings()) as gw:
        return await seed(gw)


def test_cli_export_verify_prune(cli_env):
    history = asyncio.run(_seed())
    today = utcnow().astimezone(VIETNAM).date()
    bundle = cli_env / "g22.zip"
    r = run("archive", "export", "--agency", G22, "--from", str(today), "--to", str(today),
            "--type", "Công văn", "--output", str(bundle))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "1 documents exported" in r.output and "sha256" in r.output
    r = run("archive", "export", "--agency", G22, "--from", "x", "--output", str(bundle))
    assert r.exit_code != 0

    r = run("archive", "verify", str(bundle))
    assert r.exit_code == 0, r.output
    assert "OK" in r.output and "compare" in r.output  # not pinned: says to compare
    cert = cli_env / "keys" / "gateway-cert.pem"
    r = run("archive", "verify", str(bundle), "--cert", str(cert))
    assert r.exit_code == 0 and "compare" not in r.output

    # one byte of one document's metadata changed: exit 1 naming the file
    tampered = cli_env / "tampered.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("metadata.json"):
                data = data.replace(b'"acknowledged"', b'"cancelled"', 1)
            dst.writestr(info, data)
    r = run("archive", "verify", str(tampered))
    assert r.exit_code == 1
    assert "FAILED" in r.output and "metadata.json" in r.output

    tomorrow = today + timedelta(days=1)
    r = run("archive", "prune", "--exported-before", str(tomorrow), "--dry-run")
    assert r.exit_code == 0 and "1 exported documents can be pruned" in r.output
    r = run("archive", "prune", "--exported-before", str(tomorrow), input="n\n")
    assert r.exit_code == 1
    r = run("archive", "prune", "--exported-before", str(tomorrow), "--yes")
    assert r.exit_code == 0, r.output
    assert "1 documents pruned" in r.output
    r = run("archive", "prune", "--exported-before", str(tomorrow), "--yes")
    assert r.exit_code == 0 and "0 exported documents" in r.output

    r = run("audit", "verify")
    assert r.exit_code == 0 and "OK" in r.output
    assert history["original"]["package_id"]
