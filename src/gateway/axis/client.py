"""The gateway as a client of the national axis: requests exactly as the official SDK sends them
(`XroadVnpt-*` headers signed by gateway.axis.vxp_auth.sign_headers, the body of sendEdoc
followed by CRLF, `hash-file` in the SDK's zero-dropped hex form, GET for count/download).

Unlike the SDK, one client never leaks logical headers from one call into the next.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from ..db import utcnow
from .vxp_auth import format_vxp_timestamp, sign_headers

# ErrorCodes after which repeating the same request cannot succeed
PERMANENT_CODES = frozenset(
    {
        "MALFORMED_XML",
        "VALIDATION_FAILED",
        "RECIPIENT_UNKNOWN",
        "RECIPIENT_INACTIVE",
        "FORBIDDEN",
        "DUPLICATE",
        "PAYLOAD_TOO_LARGE",
        "HASH_FILE_MISMATCH",
        "MESSAGE_TYPE_MISMATCH",
        "SIGNATURE_INVALID",
        "SIGNATURE_REQUIRED",
    }
)


class VxpClientError(Exception):
    """A call to the national axis failed. `permanent`: retrying will not help."""

    def __init__(self, operation: str, code: str, message: str, *, permanent: bool = False):
        self.operation = operation
        self.code = code
        self.message = message
        self.permanent = permanent
        super().__init__(f"{operation}: {code}: {message}")


def sdk_hash_file(data: bytes) -> str:
    """SHA-256 hex with each byte's leading zero dropped (Java Integer.toHexString)."""
    return "".join(format(b, "x") for b in hashlib.sha256(data).digest())


@dataclass(frozen=True)
class VxpClientConfig:
    base_url: str
    system_id: str
    secret: str
    timeout: float = 60.0


class VxpClient:
    def __init__(
        self,
        config: VxpClientConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.config = config
        self.clock = clock
        self._http = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/"),
            transport=transport,
            timeout=config.timeout,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> VxpClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ plumbing

    def _headers(self, logical: list[tuple[str, str]], content_type: str) -> list[tuple[str, str]]:
        pairs = [
            ("systemid", self.config.system_id),
            *logical,
            ("timestamp", format_vxp_timestamp(self.clock())),
            ("Content-Type", content_type),
        ]
        return [*sign_headers(pairs, self.config.secret), ("Content-Type", content_type)]

    async def _call(
        self,
        operation: str,
        logical: list[tuple[str, str]],
        *,
        body: bytes = b"",
        content_type: str = "application/json",
        method: str = "POST",
    ) -> httpx.Response:
        headers = self._headers(logical, content_type)
        try:
            response = await self._http.request(
                method, f"/{operation}", content=body if method == "POST" else None, headers=headers
            )
        except httpx.HTTPError as exc:
            raise VxpClientError(operation, "NETWORK", f"{type(exc).__name__}: {exc}") from exc
        return response

    async def _json(self, operation: str, response: httpx.Response) -> dict[str, Any]:
        try:
            doc = response.json()
        except ValueError:
            raise VxpClientError(
                operation,
                f"HTTP_{response.status_code}",
                response.text[:300] or "không có nội dung JSON",
            ) from None
        if not isinstance(doc, dict):
            raise VxpClientError(operation, "BAD_RESPONSE", "JSON không phải đối tượng")
        if doc.get("status") != "OK":
            code = str(doc.get("ErrorCode") or f"HTTP_{response.status_code}")
            raise VxpClientError(
                operation,
                code,
                str(doc.get("ErrorDesc") or ""),
                permanent=code in PERMANENT_CODES,
            )
        return doc

    # ----------------------------------------------------------------- operations

    async def send_edoc(
        self,
        data: bytes,
        *,
        from_code: str,
        message_type: str,
        to: list[str] | None = None,
    ) -> str:
        logical = [
            ("servicetype", "eDoc"),
            ("messagetype", message_type),
            ("hash-file", sdk_hash_file(data)),
            ("from", from_code),
        ]
        if to:
            logical.append(("to", json.dumps(to, separators=(",", ":"))))
        response = await self._call(
            "sendEdoc", logical, body=data + b"\r\n", content_type="application/octet-stream"
        )
        doc = await self._json("sendEdoc", response)
        doc_id = doc.get("DocId")
        if not doc_id:
            raise VxpClientError("sendEdoc", "BAD_RESPONSE", "thiếu DocId trong kết quả")
        return str(doc_id)

    async def received_list(self, message_type: str) -> list[dict[str, Any]]:
        response = await self._call(
            "getReceivedEdocList", [("servicetype", "eDoc"), ("messagetype", message_type)]
        )
        data = (await self._json("getReceivedEdocList", response)).get("data") or []
        return [item for item in data if isinstance(item, dict)]

    async def get_edoc(self, doc_id: str) -> bytes:
        response = await self._call("getEdoc", [("docId", doc_id)], body=b"{}")
        data = (await self._json("getEdoc", response)).get("data")
        if not isinstance(data, str):
            raise VxpClientError("getEdoc", "BAD_RESPONSE", "thiếu dữ liệu gói tin")
        try:
            return base64.b64decode(data, validate=True)
        except ValueError:
            raise VxpClientError("getEdoc", "BAD_RESPONSE", "dữ liệu không phải base64") from None

    async def update_status(self, doc_id: str, status: str) -> None:
        response = await self._call(
            "updateStatus", [("docid", doc_id), ("status", status)], body=b"{}"
        )
        await self._json("updateStatus", response)

    async def agencies_list(self) -> list[dict[str, Any]]:
        response = await self._call("getAgenciesList", [])
        data = (await self._json("getAgenciesList", response)).get("data") or []
        return [item for item in data if isinstance(item, dict)]
