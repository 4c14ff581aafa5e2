"""`gateway keys …`: create and inspect the gateway's signing key and certificate."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ..cli_lang import say  # (a leaf module: the run's language only)
from .certs import CertificateHealth, fingerprint, load_certificates
from .keys import CERT_FILE, init_dev_keys

keys_app = typer.Typer(help="The gateway's signing key and certificate.", no_args_is_help=True)


@keys_app.command("init")
def init_command(
    directory: Annotated[Path, typer.Option("--dir", help="Where to write key and certificate.")],
    common_name: Annotated[str, typer.Option("--cn", help="Certificate common name.")],
    days: Annotated[int, typer.Option(help="Validity in days.")] = 825,
    force: Annotated[bool, typer.Option("--force", help="Replace existing files.")] = False,
) -> None:
    """Generate a development RSA-2048 key and self-signed certificate."""
    try:
        key_path, cert_path = init_dev_keys(directory, common_name, days=days, overwrite=force)
    except FileExistsError as exc:
        typer.echo(f"{say('lỗi', 'error')}: {exc}", err=True)
        raise typer.Exit(1) from exc
    cert = load_certificates(cert_path.read_bytes())[0]
    typer.echo(f"{say('khóa:       ', 'key:        ')} {key_path}")
    typer.echo(f"{say('chứng thư:  ', 'certificate:')} {cert_path}")
    typer.echo(f"SHA-256:     {fingerprint(cert)}")


@keys_app.command("show")
def show_command(
    path: Annotated[
        Path, typer.Argument(help="Certificate file, or the directory given to `init`.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Print subject, validity and days left of a certificate."""
    cert_path = path / CERT_FILE if path.is_dir() else path
    try:
        cert = load_certificates(cert_path.read_bytes())[0]
    except (OSError, ValueError) as exc:
        typer.echo(
            say(
                f"lỗi: không đọc được {cert_path}: {exc}", f"error: cannot read {cert_path}: {exc}"
            ),
            err=True,
        )
        raise typer.Exit(1) from exc
    health = CertificateHealth.of(cert, datetime.now(UTC))
    if as_json:
        shown = {  # trust/ imports nothing from the rest, so not gateway.cli_output
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "serial": health.serial,
            "valid_from": cert.not_valid_before_utc.isoformat(),
            "valid_until": cert.not_valid_after_utc.isoformat(),
            "days_left": health.days_left,
            "sha256": fingerprint(cert),
        }
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    rows = (
        (say("chủ thể", "subject"), cert.subject.rfc4514_string()),
        (say("bên cấp", "issuer"), cert.issuer.rfc4514_string()),
        (say("số sê-ri", "serial"), health.serial),
        (say("hiệu lực từ", "valid from"), cert.not_valid_before_utc.isoformat()),
        (say("hiệu lực đến", "valid until"), cert.not_valid_after_utc.isoformat()),
        (say("còn (ngày)", "days left"), health.days_left),
        ("SHA-256", fingerprint(cert)),
    )
    for label, value in rows:
        typer.echo(f"{label + ':':<13}{value}")
