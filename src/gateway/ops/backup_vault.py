"""Encrypted, scheduled, pruned backups and the restore drill (on top of gateway.ops.backup).

- **Encryption**: AES-256-GCM in 1 MiB chunks (cryptography), so a backup of any size streams
  through in constant memory. File: MAGIC, an 8-byte random file id, then per chunk a 4-byte
  length and the sealed chunk; chunk i's nonce is file id ‖ i, and its associated data says
  whether it is the last chunk, so reordering, truncation or appending is detected. The key
  (`GATEWAY_BACKUP_KEY`, 32 bytes in URL-safe base64; `gateway backup keygen`) comes from a
  secret; the file keeps its plaintext manifest `<file>.json` (SHA-256 of the plaintext) next
  to `<file>.gwenc`.
- **Retention**: the newest `keep` backups of a directory are kept, older ones removed (with
  their manifests).
- **Drill**: decrypt (if needed), restore into a scratch database, and verify the audit hash
  chain and that every stored package's bytes still have their recorded SHA-256. SQLite: a
  scratch copy of the file. PostgreSQL (a `pg_dump` custom-format backup as `gateway backup`
  makes, or a plain SQL dump): a fresh database `gateway_drill_<random>` created (from
  template0) on the server of the configured database (or `server_url`), the dump restored
  into it in one transaction (`pg_restore --exit-on-error --single-transaction` / `psql
  --single-transaction -v ON_ERROR_STOP=1`), checked, and dropped (WITH (FORCE)) whatever
  happened. Nothing else is touched; the role needs CREATEDB.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import URL, make_url

from ..settings import Settings
from .backup import BackupError, BackupResult, _Postgres, backup, check_backup, manifest_path_for

MAGIC = b"GWBACKUP-AESGCM1"
SUFFIX = ".gwenc"
CHUNK = 1024 * 1024


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def parse_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (ValueError, TypeError):
        key = b""
    if len(key) != 32:
        raise BackupError(
            "the backup key must be 32 bytes in URL-safe base64 (gateway backup keygen)"
        )
    return key


def _aad(file_id: bytes, index: int, last: bool) -> bytes:
    return MAGIC + file_id + struct.pack(">I?", index, last)


def encrypt_file(src: Path, dst: Path, key: bytes) -> None:
    aead = AESGCM(key)
    file_id = secrets.token_bytes(8)
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        fout.write(MAGIC + file_id)
        index = 0
        chunk = fin.read(CHUNK)
        while True:
            following = fin.read(CHUNK)
            last = not following
            nonce = file_id + struct.pack(">I", index)
            sealed = aead.encrypt(nonce, chunk, _aad(file_id, index, last))
            fout.write(struct.pack(">I", len(sealed)) + sealed)
            if last:
                break
            chunk, index = following, index + 1
        fout.flush()
        os.fsync(fout.fileno())


def decrypt_file(src: Path, dst: Path, key: bytes) -> None:
    aead = AESGCM(key)
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        head = fin.read(len(MAGIC) + 8)
        if len(head) != len(MAGIC) + 8 or not head.startswith(MAGIC):
            raise BackupError(f"{src} is not an encrypted gateway backup")
        file_id = head[len(MAGIC) :]
        index = 0
        while True:
            size_bytes = fin.read(4)
            if len(size_bytes) != 4:
                raise BackupError(f"{src} is truncated (no last chunk)")
            (size,) = struct.unpack(">I", size_bytes)
            if size > CHUNK + 16:
                raise BackupError(f"{src} is damaged (chunk {index} too large)")
            sealed = fin.read(size)
            nonce = file_id + struct.pack(">I", index)
            plain = None
            for last in (False, True):
                try:
                    plain = aead.decrypt(nonce, sealed, _aad(file_id, index, last))
                except InvalidTag:
                    continue
                break
            if plain is None:
                raise BackupError(
                    f"{src} cannot be decrypted at chunk {index}: wrong key, or the file was "
                    "altered"
                )
            fout.write(plain)
            if last:
                if fin.read(1):
                    raise BackupError(f"{src} has data after its last chunk")
                return
            index += 1


def encrypted_backup(
    settings: Settings,
    directory: Path,
    key: bytes,
    *,
    schema: str = "public",
    pg_bin: Path | None = None,
) -> Path:
    """A backup in `directory`, encrypted: leaves `<name>.gwenc` and `<name>.json`."""
    result: BackupResult = backup(
        settings, _target(settings, directory), schema=schema, pg_bin=pg_bin
    )
    sealed = result.path.with_name(result.path.name + SUFFIX)
    try:
        encrypt_file(result.path, sealed, key)
    except BaseException:
        sealed.unlink(missing_ok=True)
        raise
    finally:
        result.path.unlink(missing_ok=True)
    return sealed


def _target(settings: Settings, directory: Path) -> Path:
    from .backup import default_output

    return Path(directory) / default_output(settings).name


def decrypted_copy(path: Path, key: bytes, workdir: Path) -> Path:
    """`<name>.gwenc` → `<workdir>/<name>` with its manifest next to it."""
    plain = workdir / path.name.removesuffix(SUFFIX)
    decrypt_file(path, plain, key)
    manifest = manifest_path_for(path.with_name(plain.name))
    if manifest.exists():
        shutil.copy(manifest, manifest_path_for(plain))
    return plain


def backup_sets(directory: Path) -> list[Path]:
    """Backup files of a directory (plain or encrypted), oldest first (names carry the time)."""
    found = [
        p
        for p in Path(directory).glob("gateway-*")
        if p.is_file() and not p.name.endswith((".json", ".partial"))
    ]
    return sorted(found, key=lambda p: p.name)


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups (and their manifests); returns the removed."""
    if keep < 1:
        raise BackupError("keep at least one backup")
    removed = []
    for path in backup_sets(directory)[:-keep]:
        plain_name = path.name.removesuffix(SUFFIX)
        path.unlink(missing_ok=True)
        path.with_name(plain_name + ".json").unlink(missing_ok=True)
        removed.append(path)
    return removed


@dataclass
class DrillReport:
    audit_events: int
    audit_ok: bool
    audit_reason: str | None
    packages: int
    bad_packages: list[str]
    backend: str = "sqlite"
    revision: str | None = None
    scratch: str = ""
    """Where it was restored: the scratch file, or the scratch database's name (gone now)."""

    @property
    def ok(self) -> bool:
        return self.audit_ok and not self.bad_packages


PG_CUSTOM_MAGIC = b"PGDMP"
PG_PLAIN_MARK = b"-- PostgreSQL database dump"


def dump_kind(path: Path) -> str:
    """'sqlite', 'pg-custom' or 'pg-plain', from the file's first bytes."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith(b"SQLite format 3\0"):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "pg-custom"
    if PG_PLAIN_MARK in head:
        return "pg-plain"
    raise BackupError(f"{path} is neither an SQLite database nor a pg_dump (custom or plain)")


def drill(
    path: Path,
    key: bytes | None,
    *,
    settings: Settings | None = None,
    server_url: str | None = None,
    pg_bin: Path | None = None,
) -> DrillReport:
    """Restore a backup into a scratch database and verify it (nothing else is touched).
    PostgreSQL backups need a server: `server_url`, else the configured database's."""
    import asyncio

    with tempfile.TemporaryDirectory(prefix="gateway-drill-") as work:
        workdir = Path(work)
        source = Path(path)
        if source.name.endswith(SUFFIX):
            if key is None:
                raise BackupError("the backup is encrypted: GATEWAY_BACKUP_KEY is needed")
            source = decrypted_copy(source, key, workdir)
        manifest = check_backup(source)
        kind = dump_kind(source)
        if manifest is not None and (manifest.backend == "sqlite") != (kind == "sqlite"):
            raise BackupError(
                f"{source.name} is not the {manifest.backend} backup its manifest says"
            )
        if kind != "sqlite":
            schema = manifest.schema if manifest and manifest.schema else "public"
            server = _server(settings, server_url)
            report = _pg_drill(
                settings or Settings(), server, source, kind, schema, pg_bin, workdir
            )
        else:
            scratch = workdir / "drill.sqlite3"
            shutil.copy(source, scratch)
            scratch_settings = Settings(
                data_dir=workdir, database_url=f"sqlite+aiosqlite:///{scratch}", auto_migrate=False
            )
            report = asyncio.run(_verify(scratch_settings))
            report.scratch = str(scratch)
        if manifest is not None and report.revision != manifest.alembic_revision:
            raise BackupError(
                f"the restored database is at revision {report.revision!r}, the manifest says "
                f"{manifest.alembic_revision!r}"
            )
        return report


def _server(settings: Settings | None, server_url: str | None) -> URL:
    url = make_url(server_url or (settings or Settings()).effective_database_url)
    if url.get_backend_name() != "postgresql":
        raise BackupError(
            "the drill of a PostgreSQL backup needs a PostgreSQL server to create its scratch "
            "database on: configure GATEWAY_DATABASE_URL or pass --server"
        )
    return url


def _pg_drill(
    settings: Settings,
    server: URL,
    dump: Path,
    kind: str,
    schema: str,
    pg_bin: Path | None,
    workdir: Path,
) -> DrillReport:
    import asyncio
    import re

    from .backup import _identifier

    schema = _identifier(schema)
    name = f"gateway_drill_{secrets.token_hex(6)}"
    admin = _Postgres(settings, pg_bin, url=server)
    scratch = _Postgres(settings, pg_bin, url=server.set(database=name))
    admin.query(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        if kind == "pg-plain" and _creates_schema(dump, schema):
            scratch.query(f"DROP SCHEMA IF EXISTS {schema} CASCADE")  # the dump creates it
        else:
            scratch.query(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        if kind == "pg-custom":
            toc = scratch.run([scratch.program("pg_restore"), "--list", str(dump)])
            # the schema exists already (created above): its entries are left out
            entries = [
                line for line in toc.stdout.decode().splitlines()
                if not re.search(r"\d+ \d+ (SCHEMA|COMMENT) - (SCHEMA )?\S+ ", line)
            ]  # fmt: skip
            listing = workdir / "toc.list"
            listing.write_text("\n".join(entries) + "\n", "utf-8")
            scratch.run([
                scratch.program("pg_restore"), "--no-owner", "--no-privileges",
                "--exit-on-error", "--single-transaction", f"--use-list={listing}",
                f"--dbname={name}", str(dump),
            ])  # fmt: skip
        else:
            scratch.run([
                scratch.program("psql"), "-X", "-w", "-q", "-v", "ON_ERROR_STOP=1",
                "--single-transaction", "-f", str(dump),
            ])  # fmt: skip
        url = server.set(database=name).render_as_string(hide_password=False)
        report = asyncio.run(_verify(Settings(database_url=url, auto_migrate=False)))
    finally:
        admin.query(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report.backend, report.scratch = "postgresql", name
    return report


def _creates_schema(dump: Path, schema: str) -> bool:
    """Does the plain dump create the schema (before its first table)?"""
    wanted = f"CREATE SCHEMA {schema};".encode()
    with open(dump, "rb") as f:
        for line in f:
            if line.rstrip() == wanted:
                return True
            if line.startswith((b"CREATE TABLE", b"COPY ")):
                return False
    return False


async def _verify(settings: Settings) -> DrillReport:
    from sqlalchemy import select, text

    from ..audit.service import verify_chain
    from ..db import Database
    from ..packages.models import Package

    db = Database(settings)
    try:
        async with db.sessionmaker() as session:
            revision = await session.scalar(text("SELECT version_num FROM alembic_version"))
            report = await verify_chain(session)
            bad, count = [], 0
            rows = await session.stream(select(Package.id, Package.sha256, Package.raw))
            async for package_id, digest, raw in rows:
                count += 1
                if hashlib.sha256(raw).hexdigest() != digest:
                    bad.append(package_id)
        return DrillReport(
            report.checked, report.ok, report.reason, count, bad, db.dialect, revision
        )
    finally:
        await db.dispose()
