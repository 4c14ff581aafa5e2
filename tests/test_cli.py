"""The `gateway` command as a newcomer meets it: a fast --help, --version, and one clear line
(what is wrong, which setting, what to do) for configuration and connection problems, with
the traceback only under --debug."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from gateway import __version__
from gateway.cli import app


@pytest.fixture(autouse=True)
def _restore_logging():
    """serve/worker/relay install a log handler on the runner's stderr, closed afterwards."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_help_imports_no_server_module() -> None:
    # --help must answer at once: measured by what it imports, not by a clock
    probe = (
        "import sys\n"
        "from gateway.cli import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('sqlalchemy', 'fastapi', 'lxml', 'alembic', 'gateway.db',"
        " 'gateway.app') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out, out
    assert "deliveries" in out and "Deliveries: list, resend failed ones, cancel." in out


def test_sub_command_help_still_loads_its_command() -> None:
    result = run("deliveries", "resend", "--help")
    assert result.exit_code == 0
    assert "--reason" in result.output


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"gateway {__version__}"


def test_unparseable_database_url(cli_env, monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", "not a url")
    result = run("agencies", "list")
    assert result.exit_code == 1
    line = one_line(result)
    assert "GATEWAY_DATABASE_URL" in line and "postgresql+asyncpg://" in line


def test_debug_shows_the_real_exception(cli_env, monkeypatch) -> None:
    from sqlalchemy.exc import ArgumentError

    monkeypatch.setenv("GATEWAY_DATABASE_URL", "not a url")
    result = run("--debug", "agencies", "list")
    assert isinstance(result.exception, ArgumentError)


def test_postgresql_url_without_a_driver(cli_env, monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", "postgresql://gw@127.0.0.1:1/gw")
    line = one_line(run("agencies", "list"))
    assert "psycopg" in line and "postgresql+asyncpg://" in line


def test_unreachable_database(cli_env, monkeypatch) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"postgresql+asyncpg://gw:pw@127.0.0.1:{port}/gw")
    result = run("agencies", "list")
    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith("Không kết nối được cơ sở dữ liệu")
    assert f"127.0.0.1:{port}" in line and "pw" not in line.split("@")[0]
    assert "GATEWAY_DATABASE_URL" in line


def test_invalid_setting_in_vietnamese_then_english(cli_env, monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_SIGNATURE_POLICY", "bogus")
    line = one_line(run("agencies", "list"))
    assert line.startswith("Cấu hình sai: GATEWAY_SIGNATURE_POLICY ('bogus'): phải là một trong")
    english = one_line(run("--lang", "en", "agencies", "list"))
    assert english.startswith("Invalid configuration: GATEWAY_SIGNATURE_POLICY ('bogus'): must")
    monkeypatch.setenv("GATEWAY_LANG", "en")
    assert one_line(run("agencies", "list")) == english


def test_production_refusing_trial_defaults(cli_env, monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "production")
    line = one_line(run("agencies", "list"))
    assert "GATEWAY_NODE_CODE" in line and "GATEWAY_DATABASE_URL" in line


def test_unknown_language_is_refused() -> None:
    result = run("--lang", "fr", "--version")
    assert result.exit_code != 0 or "gateway" in result.output  # --version is eager
    result = run("--lang", "fr", "agencies", "list")
    assert result.exit_code == 2
    assert "--lang" in result.output


@pytest.mark.parametrize("command", ["worker", "relay"])
def test_worker_and_relay_on_an_unmigrated_database_exit_at_once(cli_env, command) -> None:
    result = run(command)
    assert result.exit_code == 1
    line = one_line(result)
    assert "gateway db upgrade" in line


@pytest.mark.parametrize("command", ["worker", "relay"])
def test_worker_and_relay_without_the_broker_say_so_in_one_line(
    cli_env, monkeypatch, command
) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("GATEWAY_BROKER_URL", f"amqp://gw:s3cret@127.0.0.1:{port}/edoc")
    monkeypatch.setenv("GATEWAY_DELIVERY_FATAL_AFTER_SECONDS", "0.2")  # give up at once
    assert run("db", "upgrade").exit_code == 0  # (settings are read once, here)
    result = run(command, "--log-level", "warning")
    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith("Không kết nối được RabbitMQ amqp://gw:***@127.0.0.1:")
    assert "GATEWAY_BROKER_URL" in line and "s3cret" not in line
    assert "cannot connect" not in line  # the gateway's own English words stay out
    english = one_line(run("--lang", "en", command, "--log-level", "warning"))
    assert english.startswith("Cannot reach RabbitMQ") and "GATEWAY_BROKER_URL" in english
    debug = run("--debug", command, "--log-level", "warning")
    assert debug.exit_code != 0 and type(debug.exception).__name__ == "BrokerUnavailable"


def test_serve_on_a_busy_port_starts_nothing(cli_env) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = run("serve", "--port", str(port))
    assert result.exit_code == 1
    line = [x for x in result.stderr.splitlines() if x.strip()][-1]
    assert f"127.0.0.1:{port}" in line and "--port" in line
    assert not (cli_env / "gateway.sqlite3").exists()  # nothing migrated, nothing started


def test_an_unforeseen_failure_is_one_line_too(cli_env, monkeypatch) -> None:
    import gateway.registry.service as registry_service

    class Broken(RuntimeError):
        pass

    async def explode(*_args, **_kw):
        raise Broken("disk on fire")

    monkeypatch.setattr(registry_service.AgencyRepository, "page", explode, raising=True)
    line = one_line(run("agencies", "list"))
    assert "Broken: disk on fire" in line and "--debug" in line


# ---------------------------------------------------------------- output for people and scripts
def test_lists_and_shows_in_json(cli_env, tmp_path) -> None:
    import json

    assert run("agencies", "import", "--example").exit_code == 0
    created = run("systems", "create", "qlvb-sở-tttt", "--agency", "000.00.13.H99")
    assert created.exit_code == 0, created.output

    agencies = json.loads(run("agencies", "list", "--json").stdout)
    codes = {a["code"]: a for a in agencies["items"]}
    assert agencies["total"] == len(agencies["items"]) and "000.00.13.H99" in codes
    assert codes["000.00.13.H99"]["delivery_mode"] == "push"

    one = json.loads(run("agencies", "show", "000.00.13.H99", "--json").stdout)
    assert one["code"] == "000.00.13.H99" and one["systems"] == ["qlvb-sở-tttt"]

    [system] = json.loads(run("systems", "list", "--json").stdout)
    assert system["name"] == "qlvb-sở-tttt" and system["agencies"] == ["000.00.13.H99"]
    assert len(system["id"]) == 36

    assert json.loads(run("deliveries", "list", "--json").stdout) == []

    assert run("keys", "init", "--dir", str(tmp_path / "keys"), "--cn", "Trục").exit_code == 0
    cert = json.loads(run("keys", "show", str(tmp_path / "keys"), "--json").stdout)
    assert cert["subject"].startswith("CN=Trục") and len(cert["sha256"]) >= 64


def test_tables_never_cut_ids_on_a_narrow_terminal(cli_env) -> None:
    import json

    assert run("agencies", "import", "--example").exit_code == 0
    assert run("systems", "create", "a-system-with-a-long-name", "--agency", "000.00.13.H99")
    [system] = json.loads(run("systems", "list", "--json").stdout)
    narrow = CliRunner().invoke(app, ["systems", "list"], env={"COLUMNS": "40"})
    assert system["id"] in narrow.stdout
    listed = CliRunner().invoke(app, ["agencies", "list"], env={"COLUMNS": "40"}).stdout
    assert "000.00.13.H99" in listed


def test_required_options_are_marked_in_help() -> None:
    for command in (("deliveries", "resend"), ("deliveries", "cancel")):
        result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
        line = next(x for x in result.stdout.splitlines() if "--reason" in x)
        assert "required" in line
    missing = run("deliveries", "cancel", "some-id")
    assert missing.exit_code == 2 and "--reason" in missing.output


def test_one_language_per_output(cli_env) -> None:
    vi = run("agencies", "import", "--example")
    assert "cơ quan:" in vi.output and "thêm mới" in vi.output and "push secret" not in vi.output
    en = run("--lang", "en", "agencies", "import", "--example")
    assert "agencies:" in en.output and "updated" in en.output and "cơ quan" not in en.output
    assert "have no push secret yet" in en.output
    assert run("--lang", "en", "deliveries", "list").stdout.strip().endswith("0 deliveries")
    assert run("deliveries", "list").stdout.strip().endswith("0 bản gửi")
    created = run("--lang", "en", "systems", "create", "qlvb", "--agency", "000.00.13.H99")
    assert "API key (shown once)" in " ".join(created.stderr.split())
    refused = run("--lang", "en", "agencies", "push-secret", "000.00.00.H99")
    assert refused.exit_code == 1 and refused.stderr.startswith("VALIDATION_FAILED:")


def test_serve_start_up_failure_is_one_line(cli_env, monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_BOOTSTRAP_ADMIN_KEY", "gw_short")  # refused by the app's start
    result = run("serve", "--port", "0")
    assert result.exit_code == 3
    assert "Cấu hình sai: GATEWAY_BOOTSTRAP_ADMIN_KEY needs at least 32" in result.stderr
    assert "Traceback" not in result.output


VIETNAMESE_LETTERS = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.IGNORECASE
)


def test_operator_commands_speak_one_language(cli_env, tmp_path) -> None:
    """backup/restore, axis, audit, keys, archive: Vietnamese by default, English with --lang en,
    the command's own words never mixed (library reasons after a colon are not theirs)."""
    assert run("db", "upgrade").exit_code == 0
    keys = tmp_path / "keys"
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    commands = [
        ["keys", "init", "--dir", str(keys), "--cn", "Gateway test"],
        ["keys", "show", str(keys)],
        ["keys", "show", str(tmp_path / "missing.pem")],
        ["audit", "verify"],
        ["audit", "checkpoint"],
        ["axis", "sync-agencies"],
        ["axis", "secret", "no-such-system"],
        ["archive", "prune", "--exported-before", "2020-01-01", "--dry-run"],
        ["archive", "prune", "--exported-before", "not-a-date"],
        ["backup", "--output", str(tmp_path / "gw.sqlite3")],
        ["restore", "--yes", str(tmp_path / "gw.sqlite3")],
        # reasons from inside backup and archive follow the run's language too
        ["restore", "--yes", str(tmp_path / "missing.sqlite3")],
        ["archive", "verify", str(junk)],
    ]
    for command in commands:
        english = run("--lang", "en", *command)
        words = english.output.replace(str(tmp_path), "")
        assert not VIETNAMESE_LETTERS.search(words), (command, english.output)
        if command[:2] == ["keys", "init"]:
            keys_init = run("keys", "init", "--dir", str(tmp_path / "keys2"), "--cn", "Gateway")
            assert "chứng thư" in keys_init.output
            continue
        vietnamese = run(*command)
        assert VIETNAMESE_LETTERS.search(vietnamese.output), (command, vietnamese.output)
        for sample in ("certificate", "events", "bytes freed", "not set", "is not a date",
                       "no backup file", "not a readable zip"):  # fmt: skip
            assert sample not in vietnamese.output, (command, vietnamese.output)
