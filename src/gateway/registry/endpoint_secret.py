"""Credentials written into a push `endpoint_url` (`https://user:password@host/…`) are a secret
like the push secret: the complete URL is sealed with the gateway's SecretBox
(`agencies.endpoint_url_sealed`), and everything else — the `endpoint_url` column, the API,
the dashboard, the audit trail, logs — sees it with the user information replaced by `***`.
The delivery worker opens the sealed URL when it pushes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..secretbox import SecretBox

MASK = "***"


def has_credentials(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return bool(parts.username or parts.password or "@" in parts.netloc)


def redact(url: str | None) -> str | None:
    """The URL with its user information (if any) replaced by `***`."""
    if not has_credentials(url):
        return url
    parts = urlsplit(url or "")
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{MASK}@{host}"))


def seal_endpoint(values: dict[str, Any], box: SecretBox | None) -> dict[str, Any]:
    """`values` (agency columns) with `endpoint_url` redacted and, when it carried
    credentials, sealed whole into `endpoint_url_sealed`. Only when `endpoint_url` is set."""
    if "endpoint_url" not in values:
        return values
    url = values["endpoint_url"]
    out = dict(values)
    if has_credentials(url):
        if box is None:
            raise ValueError("sealing endpoint credentials needs the gateway's secret box")
        out["endpoint_url_sealed"] = box.seal(url)
        out["endpoint_url"] = redact(url)
    else:
        out["endpoint_url_sealed"] = None
    return out


def redact_values(values: dict[str, Any]) -> dict[str, Any]:
    """For the audit trail and logs."""
    if "endpoint_url" not in values:
        return values
    return {**values, "endpoint_url": redact(values["endpoint_url"])}


def push_url(endpoint_url: str, sealed: str | None, box: SecretBox) -> str:
    """The URL to push to: the sealed one (with its credentials) when there is one."""
    return box.open(sealed) if sealed else endpoint_url
