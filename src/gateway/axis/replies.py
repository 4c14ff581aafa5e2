"""The JSON envelope of VXP replies, shaped for how the official SDK reads them.

SDKVXP 2.0.1 reads each field of a reply without checking it exists: if one that the method
reads is missing (or of another JSON type) it throws inside, and the calling program gets a
result whose status, code and description are all null. So every reply, failures included,
carries every field its operation's SDK method reads (`FIELDS`, neutral values on failure).
The SDK decodes replies as US-ASCII, so non-ASCII is always `\\u`-escaped (ensure_ascii).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

__all__ = ["FIELDS", "VxpJSONResponse", "fail", "ok"]

# operation -> the fields its SDK method reads besides status/ErrorCode/ErrorDesc, with the
# neutral value a failure reply gives them (same JSON type as on success)
FIELDS: dict[str, dict[str, Any]] = {
    "sendEdoc": {"DocId": ""},
    "getReceivedEdocList": {"data": []},
    "getEdoc": {"data": ""},
    "updateStatus": {},
    "getSentEdocList": {"data": []},
    "countReceiveEdoc": {"count": 0},
    "countReceiveStatus": {"count": 0},
    "downloadEdoc": {},
    "getAgenciesList": {"data": []},
    "getAgenciesListQD20": {"data": []},
    "registerAgency": {},
    "deleteAgency": {},
    "getSynchronizeUnit": {"data": []},
}


class VxpJSONResponse(JSONResponse):
    """Compact JSON with every non-ASCII character escaped: readable by an ASCII decoder."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def ok(desc: str = "Thành công", **extra: Any) -> VxpJSONResponse:
    return VxpJSONResponse({"status": "OK", "ErrorCode": "0", "ErrorDesc": desc, **extra})


def fail(
    operation: str | None,
    code: str,
    desc: str,
    http_status: int,
    headers: dict[str, str] | None = None,
) -> VxpJSONResponse:
    """A failure of `operation` (None: not one of ours) with every field its SDK method reads."""
    neutral = FIELDS.get(operation or "", {})
    return VxpJSONResponse(
        {"status": "FAIL", "ErrorCode": code, "ErrorDesc": desc, **neutral},
        status_code=http_status,
        headers=headers,
    )
