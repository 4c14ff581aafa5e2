"""Backup and restore of the gateway's database, SQLite or PostgreSQL.

A backup is one file plus a JSON sidecar `<file>.json` (format, gateway version, Alembic
revision, time, size and SHA-256 of the file). Synchronous on purpose: it runs from the CLI and
from tests, talks to SQLite through `sqlite3` and to PostgreSQL through its client programs.

- SQLite: the online backup API (`sqlite3.Connection.backup`) copies a consistent snapshot
  while the gateway keeps running; the copy is switched to a rollback journal (one
  self-contained file) and must pass `PRAGMA integrity_check`. Restore checks the backup (hash,
  integrity, revision) on a copy next to the database, refuses while any other connection has
  the database open, keeps the old file as `<db>.before-restore-<time>` and moves the copy in
  place with an atomic rename.
- PostgreSQL: `pg_dump --format=custom --schema=<schema>` (default `public`): the gateway's
  tables only. Restore refuses while other sessions are connected to the database, then in ONE
  transaction (`psql --single-transaction`) drops every table, sequence and view of the schema
  and replays the dump (`pg_restore --no-owner --no-privileges -f -`, the schema entry itself
  left out): either the old state or the restored one, never a mix. Connection parameters come
  from the SQLAlchemy URL; the password goes through PGPASSWORD, never on a command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from .. import __version__
from ..cli_lang import say
from ..db import create_private
from ..settings import Settings

FORMAT = "gateway-backup/1"
_CHUNK = 1024 * 1024
_SQL_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why (no secrets in it)."""


class DatabaseInUse(BackupError):
    """Restore refused: the gateway (or something else) still has the database open."""


@dataclass
class BackupManifest:
    backend: str  # sqlite | postgresql
    file: str
    size: int
    sha256: str
    alembic_revision: str | None
    created_at: str
    database: str  # file name, or "dbname on host:port" (never a password)
    gateway_version: str = __version__
    schema: str | None = None
    tool: str | None = None
    format: str = FORMAT

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", "utf-8")

    @classmethod
    def read(cls, path: Path) -> BackupManifest:
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise BackupError(
                say(
                    f"không đọc được tệp kê khai bản sao lưu {path}: {exc}",
                    f"cannot read the backup manifest {path}: {exc}",
                )
            ) from None
        if data.get("format") != FORMAT:
            raise BackupError(
                say(
                    f"{path} không phải tệp kê khai bản sao lưu của gateway ({FORMAT})",
                    f"{path} is not a gateway backup manifest ({FORMAT})",
                )
            )
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class BackupResult:
    path: Path
    manifest_path: Path
    manifest: BackupManifest


@dataclass
class RestoreResult:
    backend: str
    alembic_revision: str | None
    previous: Path | None = None  # SQLite: where the replaced database file was kept
    notes: list[str] = field(default_factory=list)


def manifest_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def backend_of(settings: Settings) -> str:
    name = make_url(settings.effective_database_url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(
            say(
                f"không hỗ trợ loại cơ sở dữ liệu {name!r}",
                f"unsupported database backend {name!r}",
            )
        )
    return name


def default_output(settings: Settings) -> Path:
    suffix = ".sqlite3" if backend_of(settings) == "sqlite" else ".dump"
    return settings.data_dir / "backups" / f"gateway-{_stamp(_now())}{suffix}"


def backup(
    settings: Settings,
    output: Path | None = None,
    *,
    schema: str = "public",
    pg_bin: Path | None = None,
) -> BackupResult:
    """Back the database up to `output` (default: <data_dir>/backups/gateway-<time>.*)."""
    output = Path(output) if output is not None else default_output(settings)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        raise BackupError(
            say(
                f"{output} đã có; hãy chọn --output khác",
                f"{output} exists already; choose another --output",
            )
        )
    partial = output.with_name(output.name + ".partial")
    created = _now()
    try:
        partial.unlink(missing_ok=True)  # a leftover of a crashed run
        create_private(partial)  # 0600 from the start; the dump writes into it
        if backend_of(settings) == "sqlite":
            database, revision, tool = _sqlite_backup(settings, partial)
            schema_used = None
        else:
            pg = _Postgres(settings, pg_bin)
            pg.dump(partial, _identifier(schema))
            revision = pg.dump_revision(partial, schema)
            database, tool, schema_used = pg.describe(), pg.version("pg_dump"), schema
        _fsync(partial)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    manifest = BackupManifest(
        backend=backend_of(settings),
        file=output.name,
        size=output.stat().st_size,
        sha256=sha256_file(output),
        alembic_revision=revision,
        created_at=created.isoformat(timespec="seconds"),
        database=database,
        schema=schema_used,
        tool=tool,
    )
    manifest_path = manifest_path_for(output)
    manifest.write(manifest_path)
    return BackupResult(output, manifest_path, manifest)


def check_backup(path: Path, manifest_path: Path | None = None) -> BackupManifest | None:
    """The backup's manifest (None when there is none) after checking size and SHA-256."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(say(f"không có tệp sao lưu tại {path}", f"no backup file at {path}"))
    manifest_path = manifest_path or manifest_path_for(path)
    if not manifest_path.exists():
        return None
    manifest = BackupManifest.read(manifest_path)
    if path.stat().st_size != manifest.size or sha256_file(path) != manifest.sha256:
        raise BackupError(
            say(
                f"{path} không khớp tệp kê khai {manifest_path.name} (khác kích thước hoặc "
                "SHA-256): bản sao lưu hỏng hoặc không phải bản mà tệp kê khai mô tả",
                f"{path} does not match its manifest {manifest_path.name} (size or SHA-256 "
                "differs): the backup is damaged or not the one the manifest describes",
            )
        )
    return manifest


def restore(
    settings: Settings,
    path: Path,
    *,
    schema: str = "public",
    pg_bin: Path | None = None,
    manifest_path: Path | None = None,
    force: bool = False,
) -> RestoreResult:
    """Replace the configured database with the backup at `path`. The gateway must be stopped
    (serve, relay, worker, connector): other connections make it refuse unless `force`."""
    backend = backend_of(settings)
    manifest = check_backup(Path(path), manifest_path)
    notes: list[str] = []
    if manifest is None:
        notes.append(
            say(
                "không có tệp kê khai cạnh bản sao lưu: chưa kiểm được SHA-256 của nó",
                "no manifest next to the backup: its SHA-256 could not be checked",
            )
        )
    elif manifest.backend != backend:
        raise BackupError(
            say(
                f"bản sao lưu là của cơ sở dữ liệu {manifest.backend}, cơ sở dữ liệu đang cấu "
                f"hình là {backend}",
                f"the backup is of a {manifest.backend} database, the configured one is {backend}",
            )
        )
    if backend == "sqlite":
        revision, previous = _sqlite_restore(settings, Path(path), force=force)
    else:
        pg = _Postgres(settings, pg_bin)
        schema = manifest.schema if manifest and manifest.schema else schema
        revision, previous = pg.restore(Path(path), _identifier(schema), force=force), None
    if manifest is not None and manifest.alembic_revision != revision:
        raise BackupError(
            say(
                f"sau khi khôi phục, cơ sở dữ liệu ở phiên bản {revision!r}, tệp kê khai ghi "
                f"{manifest.alembic_revision!r}",
                f"after restore the database is at revision {revision!r}, the backup manifest "
                f"says {manifest.alembic_revision!r}",
            )
        )
    notes += _revision_notes(revision)
    return RestoreResult(backend, revision, previous, notes)


def _revision_notes(revision: str | None) -> list[str]:
    from alembic.script import ScriptDirectory

    from ..db import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if revision == head:
        return []
    known = {r.revision for r in script.walk_revisions()}
    if revision not in known:
        return [
            say(
                f"cơ sở dữ liệu khôi phục ở phiên bản {revision!r}, phiên bản gateway này không "
                f"biết (mới nhất {head}): hãy chạy phiên bản gateway đã tạo bản sao lưu",
                f"the restored database is at revision {revision!r}, unknown to this gateway "
                f"version (head {head}): run the gateway version that made the backup",
            )
        ]
    return [
        say(
            f"cơ sở dữ liệu khôi phục ở phiên bản {revision}, gateway này cần {head}: chạy "
            "`gateway db upgrade` (hoặc để auto_migrate áp dụng khi khởi động)",
            f"the restored database is at revision {revision}, this gateway expects {head}: "
            "run `gateway db upgrade` (or let auto_migrate apply it on start)",
        )
    ]


def _identifier(name: str) -> str:
    if not _SQL_IDENTIFIER.match(name):
        raise BackupError(say(f"tên schema không hợp lệ {name!r}", f"invalid schema name {name!r}"))
    return name


def _fsync(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


# ------------------------------------------------------------------------------- SQLite
def sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.effective_database_url).database
    if not database or database == ":memory:":
        raise BackupError(
            say(
                "không sao lưu được cơ sở dữ liệu SQLite trong bộ nhớ",
                "an in-memory SQLite database cannot be backed up",
            )
        )
    return Path(database)


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _integrity(conn: sqlite3.Connection, what: str) -> None:
    try:
        result = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            say(
                f"{what} không phải cơ sở dữ liệu SQLite đọc được: {exc}",
                f"{what} is not a readable SQLite database: {exc}",
            )
        ) from None
    if result != ["ok"]:
        raise BackupError(
            say(
                f"{what} không qua kiểm tra toàn vẹn: {'; '.join(result[:5])}",
                f"{what} fails the integrity check: {'; '.join(result[:5])}",
            )
        )


def _sqlite_backup(settings: Settings, target: Path) -> tuple[str, str | None, str]:
    source_path = sqlite_path(settings)
    if not source_path.is_file():
        raise BackupError(
            say(
                f"không có cơ sở dữ liệu SQLite tại {source_path}",
                f"no SQLite database at {source_path}",
            )
        )
    timeout = settings.sqlite_busy_timeout_ms / 1000
    source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=rw", uri=True,
                             timeout=timeout)  # fmt: skip
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # one step: a consistent snapshot (WAL: writers go on)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            _integrity(copy, "the backup copy")
            revision = _sqlite_revision(copy)
        finally:
            copy.close()
    finally:
        source.close()
    return source_path.name, revision, f"sqlite {sqlite3.sqlite_version}"


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Prove nobody else has the database open: leaving WAL mode needs exclusive access
    (every open connection holds a shared lock on the WAL index). Also checkpoints the WAL
    into the file, so no -wal file is left to be replayed onto the restored database."""
    conn = sqlite3.connect(path, timeout=0)
    try:
        try:
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            raise DatabaseInUse(
                f"{path} is in use ({exc}): stop the gateway (serve, relay, worker, "
                "connector) before restoring"
            ) from None
        if str(mode).lower() != "delete":
            raise DatabaseInUse(
                f"{path} is in use (still in {mode} mode): stop the gateway before restoring"
            )
        yield
        conn.rollback()
    finally:
        conn.close()


def _sqlite_restore(
    settings: Settings, backup_file: Path, *, force: bool
) -> tuple[str | None, Path | None]:
    target = sqlite_path(settings).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = _stamp(_now())
    staged = target.with_name(f"{target.name}.restore-{stamp}.partial")
    try:
        create_private(staged)
        shutil.copyfile(backup_file, staged)  # keeps the 0600 of the file it writes into
        check = sqlite3.connect(staged)
        try:
            _integrity(check, say(f"bản sao lưu {backup_file}", f"the backup {backup_file}"))
            revision = _sqlite_revision(check)
            check.execute("PRAGMA journal_mode=DELETE")
        finally:
            check.close()
        if revision is None:
            raise BackupError(
                say(
                    f"{backup_file} không có alembic_version: không phải cơ sở dữ liệu của gateway",
                    f"{backup_file} has no alembic_version: not a gateway database",
                )
            )
        _fsync(staged)
        previous = None
        if target.exists():
            previous = target.with_name(f"{target.name}.before-restore-{stamp}")
            with _exclusive(target) if not force else _nothing():
                try:
                    os.link(target, previous)
                except OSError:
                    shutil.copy2(target, previous)
                os.replace(staged, target)
        else:
            os.replace(staged, target)
        for suffix in ("-wal", "-shm", "-journal"):
            stale = target.with_name(target.name + suffix)
            with suppress(FileNotFoundError):
                stale.unlink()
        _fsync_dir(target.parent)
    finally:
        staged.unlink(missing_ok=True)
    return revision, previous


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _fsync_dir(directory: Path) -> None:
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- PostgreSQL
_SSL_MODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


class _Postgres:
    def __init__(self, settings: Settings, pg_bin: Path | None, *, url: URL | None = None):
        """The configured database, or `url` (the restore drill's scratch database)."""
        self.url: URL = url if url is not None else make_url(settings.effective_database_url)
        if not self.url.database:
            raise BackupError(
                say(
                    "URL PostgreSQL không nêu tên cơ sở dữ liệu",
                    "the PostgreSQL URL names no database",
                )
            )
        self.pg_bin = pg_bin

    def program(self, name: str) -> str:
        if self.pg_bin is not None:
            candidate = Path(self.pg_bin) / name
            if not candidate.exists():
                raise BackupError(
                    say(
                        f"không thấy {name} trong {self.pg_bin}",
                        f"{name} not found in {self.pg_bin}",
                    )
                )
            return str(candidate)
        found = shutil.which(name)
        if found is None:
            raise BackupError(
                say(
                    f"không thấy {name} trên PATH: cài các chương trình khách PostgreSQL (cùng "
                    "phiên bản chính với máy chủ, hoặc mới hơn) hoặc dùng --pg-bin",
                    f"{name} not found on PATH: install the PostgreSQL client programs (the same "
                    "major version as the server, or newer) or pass --pg-bin",
                )
            )
        return found

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        url = self.url
        query = {k: (v[0] if isinstance(v, tuple) else v) for k, v in url.query.items()}
        host = url.host or query.get("host")
        if host:
            env["PGHOST"] = host
        if url.port:
            env["PGPORT"] = str(url.port)
        if url.username:
            env["PGUSER"] = url.username
        if url.password is not None:
            env["PGPASSWORD"] = str(url.password)
        env["PGDATABASE"] = str(url.database)
        ssl = query.get("sslmode") or query.get("ssl")
        if ssl in _SSL_MODES:
            env["PGSSLMODE"] = ssl
        env["PGAPPNAME"] = "gateway-backup"
        env["PGCONNECT_TIMEOUT"] = env.get("PGCONNECT_TIMEOUT", "10")
        return env

    def describe(self) -> str:
        where = f"{self.url.host or 'localhost'}:{self.url.port or 5432}"
        return f"{self.url.database} on {where}"

    def run(self, args: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
        try:
            result = subprocess.run(  # noqa: S603 (fixed programs, arguments are not a shell)
                args, env=self.env(), capture_output=True, check=False, **kw
            )
        except OSError as exc:
            raise BackupError(
                say(
                    f"không chạy được {Path(args[0]).name}: {exc}",
                    f"cannot run {Path(args[0]).name}: {exc}",
                )
            ) from None
        if result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip()
            raise BackupError(
                say(
                    f"{Path(args[0]).name} lỗi: {message}",
                    f"{Path(args[0]).name} failed: {message}",
                )
            )
        return result

    def version(self, name: str) -> str:
        return self.run([self.program(name), "--version"]).stdout.decode().strip()

    def query(self, sql: str) -> str:
        psql = [self.program("psql"), "-X", "-w", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"]
        out = self.run([*psql, "-c", sql])
        return out.stdout.decode("utf-8").strip()

    def dump(self, target: Path, schema: str) -> None:
        self.run([
            self.program("pg_dump"), "--format=custom", f"--schema={schema}",
            f"--file={target}", "--no-password",
        ])  # fmt: skip

    def dump_revision(self, dump: Path, schema: str) -> str | None:
        """The alembic_version row inside the dump itself (not the live database)."""
        out = self.run([
            self.program("pg_restore"), "--data-only", f"--schema={schema}",
            "--table=alembic_version", "-f", "-", str(dump),
        ]).stdout.decode("utf-8")  # fmt: skip
        lines = iter(out.splitlines())
        for line in lines:
            if line.startswith("COPY ") and "alembic_version" in line:
                row = next(lines, "\\.")
                return None if row == "\\." else row.split("\t")[0]
        return None

    def other_sessions(self) -> int:
        return int(
            self.query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            or 0
        )

    def restore(self, dump: Path, schema: str, *, force: bool) -> str | None:
        toc = self.run([self.program("pg_restore"), "--list", str(dump)]).stdout.decode()
        # the schema itself exists already (created below when missing): leave it out
        entries = [
            line for line in toc.splitlines()
            if not re.search(r"\d+ \d+ (SCHEMA|COMMENT) - (SCHEMA )?\S+ ", line)
        ]  # fmt: skip
        if not force and (sessions := self.other_sessions()):
            raise DatabaseInUse(
                f"{sessions} other session(s) are connected to {self.describe()}: stop the "
                "gateway (serve, relay, worker, connector) before restoring"
            )
        prelude = _DROP_ALL.replace("__SCHEMA__", schema).encode()
        with tempfile.TemporaryDirectory(prefix="gateway-restore-") as tmp:
            listing = Path(tmp) / "toc.list"
            listing.write_text("\n".join(entries) + "\n", "utf-8")
            errors_file = Path(tmp) / "psql.err"
            with errors_file.open("wb") as errors_out:
                psql = subprocess.Popen(  # noqa: S603
                    [self.program("psql"), "-X", "-w", "-q", "-v", "ON_ERROR_STOP=1",
                     "--single-transaction", "-f", "-"],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors_out,
                    env=self.env(),
                )  # fmt: skip
                restore_error = self._feed(psql, prelude, listing, dump)
                psql.wait()
            errors = errors_file.read_bytes().decode("utf-8", "replace").strip()
        if restore_error:
            raise BackupError(
                say(
                    f"pg_restore lỗi, chưa thay đổi gì: {restore_error}",
                    f"pg_restore failed, nothing changed: {restore_error}",
                )
            )
        if psql.returncode != 0:
            raise BackupError(
                say(
                    f"khôi phục lỗi và đã được hoàn tác: {errors}",
                    f"restore failed and was rolled back: {errors}",
                )
            )
        revision = self.query(f"SELECT version_num FROM {schema}.alembic_version")  # noqa: S608
        return revision or None

    def _feed(
        self, psql: subprocess.Popen[bytes], prelude: bytes, listing: Path, dump: Path
    ) -> str:
        """Write the prelude and the restore script into psql's stdin; on a pg_restore error
        end the script with a failing statement so the single transaction rolls back."""
        assert psql.stdin is not None
        error = ""
        try:
            psql.stdin.write(prelude)
            psql.stdin.flush()
            script = subprocess.run(  # noqa: S603
                [self.program("pg_restore"), "--no-owner", "--no-privileges",
                 f"--use-list={listing}", "-f", "-", str(dump)],
                stdout=psql.stdin, stderr=subprocess.PIPE, env=self.env(), check=False,
            )  # fmt: skip
            if script.returncode != 0:
                error = script.stderr.decode("utf-8", "replace").strip() or "pg_restore failed"
                psql.stdin.write(b"\nSELECT 1/0;\n")
        except BrokenPipeError:
            pass  # psql stopped at an error: its own message says which
        finally:
            with suppress(BrokenPipeError):
                psql.stdin.close()
        return error


_DROP_ALL = """
CREATE SCHEMA IF NOT EXISTS __SCHEMA__;
DO $gateway_restore$
DECLARE r record;
BEGIN
  FOR r IN SELECT viewname FROM pg_views WHERE schemaname = '__SCHEMA__' LOOP
    EXECUTE format('DROP VIEW IF EXISTS %I.%I CASCADE', '__SCHEMA__', r.viewname);
  END LOOP;
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = '__SCHEMA__' LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I.%I CASCADE', '__SCHEMA__', r.tablename);
  END LOOP;
  FOR r IN SELECT sequence_name FROM information_schema.sequences
           WHERE sequence_schema = '__SCHEMA__' LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %I.%I CASCADE', '__SCHEMA__', r.sequence_name);
  END LOOP;
  -- the gateway's own functions (the outbox NOTIFY trigger's), not an extension's
  FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = '__SCHEMA__' AND p.prokind = 'f'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.sig);
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = '__SCHEMA__' AND t.typtype IN ('e', 'd') LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I.%I CASCADE', '__SCHEMA__', r.typname);
  END LOOP;
END
$gateway_restore$;
"""
