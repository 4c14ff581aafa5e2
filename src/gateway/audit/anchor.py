"""The key that anchors the audit chain, kept outside the database.

The chain alone is unkeyed: whoever can write the database can rewrite an event and recompute
every later hash, or cut the tail. Checkpoints (gateway.audit.checkpoints) pin the chain's
position and hash under an HMAC-SHA256 made with this key, which the database never holds: a
rewritten history no longer matches a checkpoint, and a forged checkpoint fails its MAC.

The key comes from `GATEWAY_AUDIT_ANCHOR_KEY` (≥ 32 characters; several, comma-separated,
newest first, to rotate: checkpoints made with an older key still verify). In development,
without one, a key is generated once into `<data_dir>/audit-anchor.key` (mode 0600); production
refuses to start without an explicit key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..settings import Settings

KEY_FILE_NAME = "audit-anchor.key"
MIN_KEY_CHARS = 32


class AnchorKeyError(ValueError):
    pass


def key_id(key: bytes) -> str:
    """A short public name for a key (checkpoints record which key made them)."""
    return hashlib.sha256(b"gateway-audit-anchor-id\x00" + key).hexdigest()[:16]


@dataclass(frozen=True)
class AnchorKeys:
    keys: tuple[bytes, ...]  # newest first

    def __post_init__(self) -> None:
        if not self.keys:
            raise AnchorKeyError("no audit anchor key")
        short = [k for k in self.keys if len(k) < MIN_KEY_CHARS]
        if short:
            raise AnchorKeyError(f"an audit anchor key is shorter than {MIN_KEY_CHARS} characters")

    @classmethod
    def from_settings(cls, settings: Settings) -> AnchorKeys:
        configured = settings.audit_anchor_key
        if configured is not None:
            raw = configured.get_secret_value()
            return cls(tuple(k.strip().encode() for k in raw.split(",") if k.strip()))
        if settings.environment == "production":
            raise AnchorKeyError("GATEWAY_AUDIT_ANCHOR_KEY is not set")
        return cls((_development_key(settings.data_dir),))

    @property
    def current_id(self) -> str:
        return key_id(self.keys[0])

    def sign(self, message: bytes) -> tuple[str, str]:
        """(key id, MAC) with the newest key."""
        return self.current_id, hmac.new(self.keys[0], message, hashlib.sha256).hexdigest()

    def check(self, kid: str, message: bytes, mac: str) -> bool | None:
        """True/False with the key named `kid`; None when no configured key has that id."""
        for key in self.keys:
            if key_id(key) == kid:
                expected = hmac.new(key, message, hashlib.sha256).hexdigest()
                return hmac.compare_digest(expected, mac)
        return None


def _development_key(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this deployment made it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
