"""Development keys: `init_dev_keys` and the `gateway keys` sub-commands."""

from __future__ import annotations

import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from typer.testing import CliRunner

from gateway.trust import GatewaySigner, init_dev_keys
from gateway.trust.cli import keys_app


@pytest.fixture(autouse=True)
def _english(monkeypatch) -> None:
    """These tests read the commands' English output (Vietnamese is the default)."""
    monkeypatch.setenv("GATEWAY_LANG", "en")


def test_init_writes_a_private_key_and_a_signing_certificate(tmp_path):
    key_path, cert_path = init_dev_keys(tmp_path / "keys", "Trục tỉnh thử nghiệm", days=10)

    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = load_pem_private_key(key_path.read_bytes(), password=None)
    assert key.key_size == 2048
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == (
        "Trục tỉnh thử nghiệm"
    )
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 10
    GatewaySigner.from_files(key_path, cert_path)  # key and certificate belong together


def test_init_refuses_to_overwrite_unless_asked(tmp_path):
    key_path, _ = init_dev_keys(tmp_path, "a")
    before = key_path.read_bytes()
    with pytest.raises(FileExistsError):
        init_dev_keys(tmp_path, "b")
    assert key_path.read_bytes() == before

    key_path.chmod(0o644)
    init_dev_keys(tmp_path, "b", overwrite=True)
    assert key_path.read_bytes() != before
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_cli_init_then_show(tmp_path):
    runner = CliRunner()
    created = runner.invoke(keys_app, ["init", "--dir", str(tmp_path), "--cn", "Trục thử"])
    assert created.exit_code == 0, created.output
    assert "gateway-key.pem" in created.output and "SHA-256:" in created.output

    again = runner.invoke(keys_app, ["init", "--dir", str(tmp_path), "--cn", "Trục thử"])
    assert again.exit_code == 1

    shown = runner.invoke(keys_app, ["show", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "CN=Trục thử" in shown.output and "days left:   824" in shown.output

    forced = runner.invoke(keys_app, ["init", "--dir", str(tmp_path), "--cn", "X", "--force"])
    assert forced.exit_code == 0


def test_cli_show_unreadable_file(tmp_path):
    missing = tmp_path / "nope.pem"
    result = CliRunner().invoke(keys_app, ["show", str(missing)])
    assert result.exit_code == 1
