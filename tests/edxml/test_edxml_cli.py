"""`gateway validate`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli import app
from support.samples import SAMPLES

runner = CliRunner()


def test_help() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "validate" in result.output


def test_valid_samples_exit_zero() -> None:
    result = runner.invoke(app, ["validate", str(SAMPLES / "edoc_new.edxml"),
                                 str(SAMPLES / "status.edxml")])
    assert result.exit_code == 0, result.output
    assert "edoc_new.edxml: OK [document]" in result.output


def test_invalid_file_exits_non_zero_with_findings(tmp_path: Path) -> None:
    bad = tmp_path / "bad.edxml"
    bad.write_bytes((SAMPLES / "status.edxml").read_bytes().replace(b">01<", b">99<"))
    result = runner.invoke(app, ["validate", str(SAMPLES / "status.edxml"), str(bad)])
    assert result.exit_code == 1
    assert "STATUS_CODE_UNKNOWN" in result.output
    assert "Mã trạng thái" in result.output


def test_json_output(tmp_path: Path) -> None:
    bad = tmp_path / "bad.edxml"
    bad.write_bytes(b"<not xml")
    result = runner.invoke(app, ["validate", "--json", str(bad)])
    assert result.exit_code == 1
    [entry] = json.loads(result.output)
    assert entry["ok"] is False
    assert entry["findings"][0]["code"] == "XML_MALFORMED"
