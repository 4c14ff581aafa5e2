"""Request signing of the national axis (VXP, SDKVXP 2.0.x), client and server side. Pure.

The SDK sends every "logical header" `k: v` as `XroadVnpt-k: v`, plus a compact JSON copy of
them (`XroadVnpt-sign-header`) and an HMAC-SHA256 of that exact string (`XroadVnpt-hash-header`).
The server trusts only what is inside the signed JSON; plain `XroadVnpt-*` headers are checked
against it but never read. See the project spec `vxp-protocol.md`.

    headers = sign_headers({"systemid": sid, "timestamp": format_vxp_timestamp(now),
                            "Content-Type": "application/json"}, secret)      # client
    request = verify_request(raw_headers, secrets.get, now=now)               # server
    doc_id = request.get("docId")
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ..edxml.timefmt import VIETNAM

__all__ = [
    "DEFAULT_MAX_SKEW",
    "AuthCode",
    "VerifiedRequest",
    "VxpAuthError",
    "format_vxp_timestamp",
    "hash_file_forms",
    "match_hash_file",
    "parse_vxp_timestamp",
    "sign_headers",
    "verify_request",
]

PREFIX = "XroadVnpt-"
SIGN_HEADER = "XroadVnpt-sign-header"
SIGN_HEADER_KEY = "XroadVnpt-sign-header-key"
HASH_HEADER = "XroadVnpt-hash-header"
VERSION_HEADER = "XroadVnpt-version"
SDK_VERSION = "3.0.201608"
SDK_USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
# A suggested window for clients that re-stamp every call (never the default): the official
# SDK stamps its timestamp once per service object, so its calls grow hours and days old, and a
# JVM left on UTC stamps local time 7 hours off. See docs/vxp.md "Replay".
DEFAULT_MAX_SKEW = timedelta(minutes=15)

# Headers that carry the signature itself rather than a logical value.
_META = frozenset(h[len(PREFIX) :].lower() for h in (SIGN_HEADER, SIGN_HEADER_KEY, HASH_HEADER))
_META |= {VERSION_HEADER[len(PREFIX) :].lower()}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_TIMESTAMP = re.compile(
    r"([0-9]{2})([0-9]{2})([0-9]{4})T([0-9]{2})([0-9]{2})([0-9]{2})\+([0-9]{4})"
)

HeaderValue = str | bytes
Headers = Iterable[tuple[HeaderValue, HeaderValue]] | Mapping[str, str]


class AuthCode(StrEnum):
    """Stable error codes (English); shown to operators and put in `ErrorCode`."""

    MISSING_HEADERS = "AUTH_MISSING_HEADERS"
    UNKNOWN_SYSTEM = "AUTH_UNKNOWN_SYSTEM"
    BAD_SIGNATURE = "AUTH_BAD_SIGNATURE"
    STALE_TIMESTAMP = "AUTH_STALE_TIMESTAMP"
    HEADER_MISMATCH = "AUTH_HEADER_MISMATCH"
    MALFORMED = "AUTH_MALFORMED"
    SOURCE_NOT_ALLOWED = "AUTH_SOURCE_NOT_ALLOWED"


class VxpAuthError(Exception):
    """A request failed authentication; `code` is stable, `message` is Vietnamese."""

    def __init__(self, code: AuthCode | str, message: str):
        self.code = AuthCode(code)
        self.message = message
        super().__init__(f"{self.code}: {message}")


# ------------------------------------------------------------------------------ timestamps


def format_vxp_timestamp(moment: datetime) -> str:
    """`ddMMyyyy'T'HHmmss'+'SSSS` in Vietnam time; SSSS is milliseconds, not a zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("format_vxp_timestamp needs an aware datetime")
    t = moment.astimezone(VIETNAM)
    return (
        f"{t.day:02d}{t.month:02d}{t.year:04d}T{t.hour:02d}{t.minute:02d}{t.second:02d}"
        f"+{t.microsecond // 1000:04d}"
    )


def parse_vxp_timestamp(text: str) -> datetime:
    """Parse an SDK timestamp as Vietnam time (aware); ValueError if it is not one."""
    m = _TIMESTAMP.fullmatch(text) if isinstance(text, str) else None
    if not m or int(m[7]) > 999:
        raise ValueError(f"not a VXP timestamp (ddMMyyyyTHHmmss+SSSS): {text!r}")
    day, month, year, hour, minute, second, millis = (int(g) for g in m.groups())
    return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=VIETNAM)


# ---------------------------------------------------------------------------- client side


def sign_headers(
    logical: list[tuple[str, str]] | Mapping[str, str], secret: str
) -> list[tuple[str, str]]:
    """The HTTP headers the SDK sends for a logical header map, in the SDK's order.

    `logical` must contain `systemid` and `timestamp` (plus, like the SDK, `Content-Type`).
    The JSON is compact and keeps non-ASCII characters as they are (ensure_ascii=False): the
    SDK builds it from Java strings without escaping, and the HMAC is over its UTF-8 bytes.
    The real `Content-Type` header belongs to the body and is left to the caller.
    """
    pairs = list(logical.items()) if isinstance(logical, Mapping) else list(logical)
    keys = [key for key, _ in pairs]
    for key, value in pairs:
        if not isinstance(key, str) or not _TOKEN.fullmatch(key):
            raise ValueError(f"logical header key is not an HTTP token: {key!r}")
        if key.lower() in _META:
            raise ValueError(f"logical header key is reserved for the signature: {key!r}")
        if not isinstance(value, str) or _CONTROL.search(value):
            raise ValueError(f"logical header {key!r} must be text without control characters")
    if len(set(keys)) != len(keys):
        raise ValueError(f"logical header keys repeat: {keys}")
    for required in ("systemid", "timestamp"):
        if required not in keys:
            raise ValueError(f"logical headers must include {required!r}")
    sign_header = json.dumps(
        {PREFIX + key: value for key, value in pairs}, ensure_ascii=False, separators=(",", ":")
    )
    return [
        *((PREFIX + key, value) for key, value in pairs),
        (SIGN_HEADER_KEY, ";".join(keys)),
        (SIGN_HEADER, sign_header),
        (HASH_HEADER, _hmac_hex(secret, sign_header.encode("utf-8"))),
        (VERSION_HEADER, SDK_VERSION),
        ("User-Agent", SDK_USER_AGENT),
    ]


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------- server side


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """What an authenticated request signed: `signed` holds (logical key, value) in order."""

    system_id: str
    timestamp: datetime
    signed: tuple[tuple[str, str], ...]

    def get(self, key: str, default: str | None = None, *, exact_first: bool = False) -> str | None:
        """The signed value of a logical key, matched case-insensitively (docId = docid).

        Raises AUTH_HEADER_MISMATCH if two spellings were signed with different values. With
        `exact_first`, a value signed under exactly `key` wins over its twins: the SDK leaks
        keys between calls, so a `getEdoc` (docId=B) after an `updateStatus` (docid=A) signs
        both, and only the spelling the operation uses is current.
        """
        return _signed_value(self.signed, key, default, exact_first=exact_first)


def _signed_value(
    signed: tuple[tuple[str, str], ...], key: str, default: str | None, *, exact_first: bool
) -> str | None:
    if exact_first:
        for signed_key, value in signed:
            if signed_key == key:
                return value
    values = {value for signed_key, value in signed if signed_key.lower() == key.lower()}
    if len(values) > 1:
        raise VxpAuthError(AuthCode.HEADER_MISMATCH, f"Các giá trị đã ký của {key} mâu thuẫn nhau")
    return values.pop() if values else default


def verify_request(
    headers: Headers,
    secret_lookup: Callable[[str], str | None],
    now: datetime,
    max_skew: timedelta | None = None,
) -> VerifiedRequest:
    """Authenticate a request from its headers, as received; raises VxpAuthError.

    `headers` is every (name, value) pair in arrival order — repeated names included, since
    `XroadVnpt-docId` and `XroadVnpt-docid` can both arrive. Values may be `bytes` (e.g. the
    ASGI raw headers: exact, and the only way non-ASCII survives) or `str` (taken as text
    and hashed as UTF-8). A Mapping is accepted too; `multi_items()` is used when present.
    An empty secret from `secret_lookup` counts as unknown. The signed timestamp's age is
    checked only when `max_skew` is given (opt-in: the official SDK never re-stamps).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("verify_request needs an aware `now`")
    received = _header_pairs(headers)

    sign_raw = _single(received, SIGN_HEADER)
    hash_raw = _single(received, HASH_HEADER)
    missing = [n for n, v in ((SIGN_HEADER, sign_raw), (HASH_HEADER, hash_raw)) if v is None]
    if missing or sign_raw is None or hash_raw is None:
        raise VxpAuthError(
            AuthCode.MISSING_HEADERS, f"Thiếu tiêu đề xác thực: {', '.join(missing)}"
        )

    # The HMAC covers the bytes as received; never re-serialise the JSON.
    sign_bytes = _as_bytes(sign_raw)
    signed = _parse_signed(sign_bytes)

    system_id = _signed_value(signed, "systemid", None, exact_first=False)
    if not system_id:
        raise VxpAuthError(AuthCode.MISSING_HEADERS, "Thiếu systemid trong tiêu đề đã ký")
    secret = secret_lookup(system_id)
    if not secret:
        raise VxpAuthError(AuthCode.UNKNOWN_SYSTEM, f"Mã hệ thống không được đăng ký: {system_id}")
    expected = _hmac_hex(secret, sign_bytes).encode("ascii")
    if not hmac.compare_digest(expected, _as_bytes(hash_raw).strip().lower()):
        raise VxpAuthError(AuthCode.BAD_SIGNATURE, "Chữ ký yêu cầu không hợp lệ")

    timestamp = _signed_timestamp(signed)
    if max_skew is not None and timestamp < now - max_skew:
        raise VxpAuthError(AuthCode.STALE_TIMESTAMP, "Thời điểm ký yêu cầu đã quá cũ")
    if max_skew is not None and timestamp > now + max_skew:
        raise VxpAuthError(AuthCode.STALE_TIMESTAMP, "Thời điểm ký yêu cầu nằm ở tương lai")

    _check_plain_headers(received, signed)
    return VerifiedRequest(system_id=system_id, timestamp=timestamp, signed=signed)


def _header_pairs(headers: Headers) -> list[tuple[str, HeaderValue]]:
    """(lower-case name, raw value) for every header line received."""
    if hasattr(headers, "multi_items"):  # httpx.Headers: items() would merge repeats
        items: Iterable[tuple[HeaderValue, HeaderValue]] = headers.multi_items()
    elif isinstance(headers, Mapping):  # starlette's Headers.items() keeps repeats
        items = headers.items()
    else:
        items = headers
    pairs = []
    for name, value in items:
        text = name.decode("latin-1") if isinstance(name, bytes) else name
        pairs.append((text.strip().lower(), value))
    return pairs


def _single(received: list[tuple[str, HeaderValue]], name: str) -> HeaderValue | None:
    values = [value for n, value in received if n == name.lower()]
    if len(values) > 1:
        raise VxpAuthError(AuthCode.MALFORMED, f"Tiêu đề {name} xuất hiện nhiều lần")
    return values[0] if values else None


def _as_bytes(value: HeaderValue) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: cannot be what the client signed
        raise VxpAuthError(
            AuthCode.MALFORMED, "Giá trị tiêu đề không phải văn bản hợp lệ"
        ) from None


def _as_text(value: HeaderValue) -> str | None:
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return None


class _JsonObject(list):
    """Marks a parsed JSON object (kept as ordered pairs) apart from a JSON array."""


def _parse_signed(sign_bytes: bytes) -> tuple[tuple[str, str], ...]:
    bad = VxpAuthError(AuthCode.MALFORMED, f"Tiêu đề {SIGN_HEADER} không phải JSON hợp lệ")
    try:
        parsed = json.loads(sign_bytes.decode("utf-8"), object_pairs_hook=_JsonObject)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError
        raise bad from None
    if not isinstance(parsed, _JsonObject):
        raise bad
    signed: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, value in parsed:
        # Duplicate keys would let the signer and the reader see different values.
        if key in seen or not isinstance(value, str) or not key.lower().startswith("xroadvnpt-"):
            raise bad
        seen.add(key)
        logical = key[len(PREFIX) :]
        if not logical:
            raise bad
        signed.append((logical, value))
    return tuple(signed)


def _signed_timestamp(signed: tuple[tuple[str, str], ...]) -> datetime:
    text = _signed_value(signed, "timestamp", None, exact_first=False)
    if text is None:
        raise VxpAuthError(AuthCode.MISSING_HEADERS, "Thiếu timestamp trong tiêu đề đã ký")
    try:
        return parse_vxp_timestamp(text)
    except ValueError:
        raise VxpAuthError(
            AuthCode.MALFORMED, f"Thời điểm ký không đúng định dạng ddMMyyyyTHHmmss+SSSS: {text}"
        ) from None


def _check_plain_headers(
    received: list[tuple[str, HeaderValue]], signed: tuple[tuple[str, str], ...]
) -> None:
    """Every XroadVnpt-* header that was also signed must carry a signed value.

    Names compare case-insensitively (HTTP/2 and ASGI lower-case them), so twin spellings
    (docId/docid) are matched against the set of values signed under either spelling.
    Surrounding blanks are ignored because HTTP parsers strip them from header values.
    """
    allowed: dict[str, set[str]] = {}
    for key, value in signed:
        allowed.setdefault(key.lower(), set()).add(value.strip(" \t"))
    prefix = PREFIX.lower()
    for name, raw in received:
        key = name[len(prefix) :]
        if not name.startswith(prefix) or key in _META or key not in allowed:
            continue  # not ours, or unsigned: ignored, never trusted
        value = _as_text(raw)
        if value is None or value.strip(" \t") not in allowed[key]:
            raise VxpAuthError(
                AuthCode.HEADER_MISMATCH,
                f"Giá trị tiêu đề {PREFIX}{key} khác với giá trị đã ký",
            )


# ------------------------------------------------------------------------------- hash-file


def _file_candidates(body: bytes) -> list[bytes]:
    """The file the sender may have hashed: the SDK appends CRLF to the file it read."""
    candidates = [body[:-2]] if body.endswith(b"\r\n") else []
    candidates += [body, body.rstrip(b"\r\n")]
    return list(dict.fromkeys(candidates))


def _digest_forms(data: bytes) -> tuple[str, str]:
    digest = hashlib.sha256(data).digest()
    # Java Integer.toHexString drops each byte's leading zero; the SDK writes that form.
    return digest.hex(), "".join(format(byte, "x") for byte in digest)


def hash_file_forms(body: bytes) -> set[str]:
    """Every `XroadVnpt-hash-file` value a sender of `body` may have written.

    For the body less the SDK's trailing CRLF, the body as is, and the body with all trailing
    CR/LF removed: the true SHA-256 hex and the SDK's zero-dropped form.
    """
    return {form for data in _file_candidates(body) for form in _digest_forms(data)}


def match_hash_file(body: bytes, declared: str) -> bytes | None:
    """The file bytes whose hash is `declared` (so the server stores what was signed), or None."""
    wanted = declared.strip().lower()
    for data in _file_candidates(body):
        if wanted in _digest_forms(data):
            return data
    return None
