"""A test double of the official Java SDK client (SDKVXP 2.0.1, `KnobstickServiceImp` and
`AgencyServiceImp`), written independently of gateway.axis so that it checks the server
against the wire format rather than against itself.

What it reproduces, byte for byte:
- the header map is ONE `java.util.HashMap` per service object, so keys of earlier calls leak
  into later ones, and iteration order is the HashMap's (bucket of String.hashCode, then
  insertion order inside a bucket; the table doubles from 16 when more than 3/4 full);
- `systemid`, `timestamp` (`ddMMyyyy'T'HHmmss+SSSS`, milliseconds) and `Content-Type` are put
  first, then every key of the call's header JSON;
- HTTP headers in the SDK's order: `Content-Type`, one `XroadVnpt-<k>` per map entry,
  `XroadVnpt-sign-header-key` (keys joined by `;`), `XroadVnpt-sign-header` (compact JSON,
  same order), `XroadVnpt-hash-header` (HMAC-SHA256 hex), `User-Agent`, `XroadVnpt-version`;
- sendEdoc: `hash-file` is the SHA-256 with each byte's leading zero dropped
  (Integer.toHexString), the body is the file followed by CRLF, `application/octet-stream`;
- GET (no body) for countReceiveEdoc, countReceiveStatus and downloadEdoc;
- `docId` (getEdoc/downloadEdoc) and `docid` (updateStatus) are different map keys, so after
  both were used the request carries two `XroadVnpt-docid` header lines.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
VERSION = "3.0.201608"


def java_string_hash(text: str) -> int:
    data = text.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):  # Java strings are UTF-16 code units
        h = (31 * h + int.from_bytes(data[i : i + 2], "big")) & 0xFFFFFFFF
    return h


class JavaHashMap:
    """Iteration order of java.util.HashMap<String, String> (no treeification needed here)."""

    def __init__(self) -> None:
        self._items: dict[str, str] = {}  # insertion order
        self._capacity = 16

    def put(self, key: str, value: str) -> None:
        if key not in self._items and len(self._items) + 1 > self._capacity * 3 // 4:
            self._capacity *= 2
        self._items[key] = value

    def _bucket(self, key: str) -> int:
        h = java_string_hash(key)
        return (h ^ (h >> 16)) & (self._capacity - 1)

    def items(self) -> list[tuple[str, str]]:
        order = {k: i for i, k in enumerate(self._items)}
        keys = sorted(self._items, key=lambda k: (self._bucket(k), order[k]))
        return [(k, self._items[k]) for k in keys]


def sdk_timestamp(moment: datetime) -> str:
    t = moment.astimezone(VIETNAM)
    return t.strftime("%d%m%YT%H%M%S") + f"+{t.microsecond // 1000:04d}"


def sdk_hash_file(data: bytes) -> str:
    return "".join(f"{b:x}" for b in hashlib.sha256(data).digest())


class SdkClient:
    """One SDK service object (`KnobstickServiceImp`), driving an httpx client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoint: str,
        system_id: str,
        secret: str,
        *,
        clock: Any = None,
    ):
        self.http = http
        self.endpoint = endpoint.rstrip("/")
        self.system_id = system_id
        self.secret = secret
        self.clock = clock or (lambda: datetime.now(UTC))
        self.map = JavaHashMap()  # the instance field that leaks between calls
        self.last_request: httpx.Request | None = None

    # --- what the SDK does for every call ------------------------------------------------
    def headers(self, header_json: dict[str, str], content_type: str) -> list[tuple[str, str]]:
        self.map.put("systemid", self.system_id)
        self.map.put("timestamp", sdk_timestamp(self.clock()))
        self.map.put("Content-Type", "application/json")
        for key, value in header_json.items():
            self.map.put(key, value)
        entries = self.map.items()
        sign_header = (
            "{"
            + ",".join(
                json.dumps("XroadVnpt-" + k, ensure_ascii=False)
                + ":"
                + json.dumps(v, ensure_ascii=False)
                for k, v in entries
            )
            + "}"
        )
        digest = hmac.new(
            self.secret.encode("utf-8"), sign_header.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        return [
            ("Content-Type", content_type),
            *(("XroadVnpt-" + k, v) for k, v in entries),
            ("XroadVnpt-sign-header-key", ";".join(k for k, _ in entries)),
            ("XroadVnpt-sign-header", sign_header),
            ("XroadVnpt-hash-header", digest),
            ("User-Agent", USER_AGENT),
            ("XroadVnpt-version", VERSION),
        ]

    async def call(
        self,
        operation: str,
        header_json: dict[str, str],
        *,
        body: bytes | None = None,
        method: str = "POST",
        content_type: str = "application/json",
    ) -> httpx.Response:
        headers = [
            (k.encode("utf-8"), v.encode("utf-8"))
            for k, v in self.headers(header_json, content_type)
        ]
        request = self.http.build_request(
            method,
            f"{self.endpoint}/{operation}",
            content=body if method == "POST" else None,
            headers=headers,
        )
        self.last_request = request
        return await self.http.send(request)

    # --- KnobstickServiceImp --------------------------------------------------------------
    async def send_edoc(self, header: dict[str, str], file_bytes: bytes) -> dict[str, Any]:
        header = {**header, "hash-file": sdk_hash_file(file_bytes)}
        r = await self.call(
            "sendEdoc",
            header,
            body=file_bytes + b"\r\n",
            content_type="application/octet-stream",
        )
        return r.json()

    async def get_received_edoc_list(self, header: dict[str, str]) -> dict[str, Any]:
        return (await self.call("getReceivedEdocList", header, body=b"")).json()

    async def get_edoc(self, header: dict[str, str]) -> dict[str, Any]:
        return (await self.call("getEdoc", header, body=b"{}")).json()

    async def update_status(self, header: dict[str, str]) -> dict[str, Any]:
        return (await self.call("updateStatus", header, body=b"{}")).json()

    async def get_sent_edoc_list(self, header: dict[str, str]) -> dict[str, Any]:
        return (await self.call("getSentEdocList", header, body=b"")).json()

    async def count_receive_edoc(self, header: dict[str, str]) -> dict[str, Any]:
        return (await self.call("countReceiveEdoc", header, method="GET")).json()

    async def count_receive_status(self, header: dict[str, str]) -> dict[str, Any]:
        return (await self.call("countReceiveStatus", header, method="GET")).json()

    async def download_edoc(self, header: dict[str, str]) -> httpx.Response:
        return await self.call("downloadEdoc", header, method="GET")

    # --- AgencyServiceImp -----------------------------------------------------------------
    async def get_agencies_list(self) -> dict[str, Any]:
        return (await self.call("getAgenciesList", {}, body=b"")).json()

    async def get_agencies_list_qd20(self, level: str) -> dict[str, Any]:
        return (await self.call("getAgenciesListQD20", {"level": level}, body=b"")).json()

    async def register_agency(self, agency: dict[str, str]) -> dict[str, Any]:
        body = json.dumps(agency, ensure_ascii=False).encode("utf-8")
        return (await self.call("registerAgency", {}, body=body)).json()

    async def delete_agency(self, code: str) -> dict[str, Any]:
        return (await self.call("deleteAgency", {"AgencyCode": code}, body=b"")).json()

    async def get_synchronize_unit(self) -> dict[str, Any]:
        return (await self.call("getSynchronizeUnit", {}, body=b"")).json()
