"""`gateway validate FILE...`: findings per file, human text or JSON; non-zero exit on errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .validate import validate_package


def validate_command(
    files: Annotated[list[Path], typer.Argument(help="edXML package files", exists=True,
                                                dir_okay=False, readable=True)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines")] = False,
) -> None:
    """Validate edXML packages (QCVN 102:2016): structure, codes, dates, attachments."""
    results = []
    failed = False
    for path in files:
        report = validate_package(path.read_bytes())
        failed = failed or not report.ok
        results.append((path, report))
    if as_json:
        payload = [
            {
                "file": str(path),
                "ok": report.ok,
                "kind": report.package.kind if report.package else None,
                "findings": [f.as_dict() for f in report.findings],
            }
            for path, report in results
        ]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        for path, report in results:
            verdict = "OK" if report.ok else "LỖI"
            kind = f" [{report.package.kind}]" if report.package else ""
            typer.echo(f"{path}: {verdict}{kind}")
            for finding in report.findings:
                typer.echo(f"  {finding}")
    raise typer.Exit(1 if failed else 0)
