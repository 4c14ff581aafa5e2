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

And what the real client does that a well-behaved client would not (SDKVXP 2.0.1, issue 12):
- the timestamp is stamped ONCE, when the service object is built, and reused by every later
  call of that object (agency systems keep one object for the life of the process);
- it is the JVM's local time without a zone: `zone` is the JVM's default zone (a server left
  on UTC is 7 hours behind Vietnam, one on UTC+6 one hour);
- reply fields are read without checking they exist: when one that the operation reads is
  missing (or of the wrong JSON type) the SDK throws inside and the caller gets a result whose
  fields are all None;
- the reply body is decoded as US-ASCII: every non-ASCII byte becomes U+FFFD, so raw UTF-8
  Vietnamese arrives garbled and only \\u-escaped JSON reads correctly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, tzinfo
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


def sdk_timestamp(moment: datetime, zone: tzinfo = VIETNAM) -> str:
    """`new SimpleDateFormat("ddMMyyyy'T'HHmmss+SSSS").format(new Date())` on a JVM whose
    default zone is `zone`: local wall-clock time, no zone in the text."""
    t = moment.astimezone(zone)
    return t.strftime("%d%m%YT%H%M%S") + f"+{t.microsecond // 1000:04d}"


# The fields each SDK method reads from the JSON reply (no existence check), with their JSON
# type. The status, code and description are what every method hands its caller.
COMMON_READS: dict[str, type] = {"status": str, "ErrorCode": str, "ErrorDesc": str}
READS: dict[str, dict[str, type]] = {
    "sendEdoc": {"DocId": str},
    "getReceivedEdocList": {"data": list},
    "getEdoc": {"data": str},
    "updateStatus": {},
    "getSentEdocList": {"data": list},
    "countReceiveEdoc": {"count": int},
    "countReceiveStatus": {"count": int},
    "getAgenciesList": {"data": list},
    "getAgenciesListQD20": {"data": list},
    "registerAgency": {},
    "deleteAgency": {},
    "getSynchronizeUnit": {"data": list},
}


def sdk_read(operation: str, body: bytes) -> dict[str, Any]:
    """The result object the SDK hands its caller, as a dict of the fields it read.

    The body is decoded as US-ASCII (each non-ASCII byte becomes U+FFFD, like Java's decoder);
    any missing or mistyped field makes the SDK throw inside, and the caller gets every field
    None.
    """
    wanted = {**COMMON_READS, **READS[operation]}
    nothing: dict[str, Any] = dict.fromkeys(wanted)
    try:
        reply = json.loads(body.decode("ascii", errors="replace"))
    except ValueError:
        return nothing
    if not isinstance(reply, dict):
        return nothing
    result = {}
    for key, kind in wanted.items():
        value = reply.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return nothing
        result[key] = value
    return result


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
        zone: tzinfo = VIETNAM,
    ):
        self.http = http
        self.endpoint = endpoint.rstrip("/")
        self.system_id = system_id
        self.secret = secret
        self.zone = zone  # the JVM's default time zone
        clock = clock or (lambda: datetime.now(UTC))
        # stamped once, in the constructor, and reused by every call of this object
        self.timestamp = sdk_timestamp(clock(), zone)
        self.map = JavaHashMap()  # the instance field that leaks between calls
        self.last_request: httpx.Request | None = None
        self.last_response: httpx.Response | None = None

    # --- what the SDK does for every call ------------------------------------------------
    def headers(self, header_json: dict[str, str], content_type: str) -> list[tuple[str, str]]:
        self.map.put("systemid", self.system_id)
        self.map.put("timestamp", self.timestamp)
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
        self.last_response = await self.http.send(request)
        return self.last_response

    async def read(self, operation: str, header: dict[str, str], **kw: Any) -> dict[str, Any]:
        """Call `operation` and read its reply the way the SDK does (see `sdk_read`)."""
        response = await self.call(operation, header, **kw)
        return sdk_read(operation, response.content)

    # --- KnobstickServiceImp --------------------------------------------------------------
    async def send_edoc(self, header: dict[str, str], file_bytes: bytes) -> dict[str, Any]:
        header = {**header, "hash-file": sdk_hash_file(file_bytes)}
        return await self.read(
            "sendEdoc",
            header,
            body=file_bytes + b"\r\n",
            content_type="application/octet-stream",
        )

    async def get_received_edoc_list(self, header: dict[str, str]) -> dict[str, Any]:
        return await self.read("getReceivedEdocList", header, body=b"")

    async def get_edoc(self, header: dict[str, str]) -> dict[str, Any]:
        return await self.read("getEdoc", header, body=b"{}")

    async def update_status(self, header: dict[str, str]) -> dict[str, Any]:
        return await self.read("updateStatus", header, body=b"{}")

    async def get_sent_edoc_list(self, header: dict[str, str]) -> dict[str, Any]:
        return await self.read("getSentEdocList", header, body=b"")

    async def count_receive_edoc(self, header: dict[str, str]) -> dict[str, Any]:
        return await self.read("countReceiveEdoc", header, method="GET")

    async def count_receive_status(self, header: dict[str, str]) -> dict[str, Any]:
        return await self.read("countReceiveStatus", header, method="GET")

    async def download_edoc(self, header: dict[str, str]) -> httpx.Response:
        return await self.call("downloadEdoc", header, method="GET")

    # --- AgencyServiceImp -----------------------------------------------------------------
    async def get_agencies_list(self) -> dict[str, Any]:
        return await self.read("getAgenciesList", {}, body=b"")

    async def get_agencies_list_qd20(self, level: str) -> dict[str, Any]:
        return await self.read("getAgenciesListQD20", {"level": level}, body=b"")

    async def register_agency(self, agency: dict[str, str]) -> dict[str, Any]:
        body = json.dumps(agency, ensure_ascii=False).encode("utf-8")
        return await self.read("registerAgency", {}, body=body)

    async def delete_agency(self, code: str) -> dict[str, Any]:
        return await self.read("deleteAgency", {"AgencyCode": code}, body=b"")

    async def get_synchronize_unit(self) -> dict[str, Any]:
        return await self.read("getSynchronizeUnit", {}, body=b"")
