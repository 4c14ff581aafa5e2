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
- **Drill**: decrypt (if needed), restore into a scratch SQLite file, and verify the audit hash
  chain and that every stored package's bytes still have their recorded SHA-256.
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

from ..settings import Settings
from .backup import BackupError, BackupResult, backup, manifest_path_for

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

    @property
    def ok(self) -> bool:
        return self.audit_ok and not self.bad_packages


def drill(path: Path, key: bytes | None) -> DrillReport:
    """Restore an SQLite backup into a scratch file and verify it (nothing else is touched)."""
    import asyncio

    with tempfile.TemporaryDirectory(prefix="gateway-drill-") as work:
        workdir = Path(work)
        source = Path(path)
        if source.name.endswith(SUFFIX):
            if key is None:
                raise BackupError("the backup is encrypted: GATEWAY_BACKUP_KEY is needed")
            source = decrypted_copy(source, key, workdir)
        from .backup import check_backup

        manifest = check_backup(source)
        if manifest is not None and manifest.backend != "sqlite":
            raise BackupError("the drill restores SQLite backups (PostgreSQL: restore to staging)")
        scratch = workdir / "drill.sqlite3"
        shutil.copy(source, scratch)
        settings = Settings(
            data_dir=workdir, database_url=f"sqlite+aiosqlite:///{scratch}", auto_migrate=False
        )
        return asyncio.run(_verify(settings))


async def _verify(settings: Settings) -> DrillReport:
    from sqlalchemy import select

    from ..audit.service import verify_chain
    from ..db import Database
    from ..packages.models import Package

    db = Database(settings)
    try:
        async with db.sessionmaker() as session:
            report = await verify_chain(session)
            bad, count = [], 0
            rows = await session.stream(select(Package.id, Package.sha256, Package.raw))
            async for package_id, digest, raw in rows:
                count += 1
                if hashlib.sha256(raw).hexdigest() != digest:
                    bad.append(package_id)
        return DrillReport(report.checked, report.ok, report.reason, count, bad)
    finally:
        await db.dispose()
