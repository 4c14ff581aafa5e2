"""Time-based one-time passwords (RFC 6238: 6 digits, 30-second steps, SHA-1 — what every
authenticator app speaks), the optional second factor of an operator's dashboard login.

The secret is stored sealed with the gateway's secrets key (gateway.secretbox). A code is
accepted for its own step and one step either side (clock drift), and only for a step later
than the last one accepted, so an observed code cannot be replayed.
"""

from __future__ import annotations

from datetime import datetime

import pyotp

STEP_SECONDS = 30
ISSUER = "Gateway trục liên thông"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """otpauth:// URI for an authenticator app (as text or a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def accepted_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to (now ± 1 step), if later than `last_step`; else None."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None
