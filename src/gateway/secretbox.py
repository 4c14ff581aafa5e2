"""Secrets the gateway must be able to read back (shared HMAC secrets for push delivery and the
national-axis protocol), encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

API keys are different: the gateway only compares them, so it stores their hash instead.

The key comes from `GATEWAY_SECRETS_KEY` (a Fernet key; several, comma-separated, newest first,
to rotate). In development, without one, a key is generated once into `<data_dir>/secrets.key`
(mode 0600); production refuses to start without an explicit key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_FILE_NAME = "secrets.key"


class SecretBoxError(ValueError):
    pass


class SecretBox:
    def __init__(self, keys: list[bytes]):
        if not keys:
            raise SecretBoxError("no secrets key")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def from_config(cls, configured: str | None, data_dir: Path) -> SecretBox:
        if configured:
            return cls([k.strip().encode() for k in configured.split(",") if k.strip()])
        return cls([_development_key(data_dir)])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise SecretBoxError(
                "cannot decrypt a stored secret (wrong GATEWAY_SECRETS_KEY?)"
            ) from exc

    def rotate(self, sealed: str) -> str:
        """Re-encrypt with the newest key."""
        return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")


def _development_key(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
