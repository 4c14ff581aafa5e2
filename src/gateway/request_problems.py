"""FastAPI's request validation errors as the gateway's own errors: malformed JSON is a 400
MALFORMED_JSON (like malformed XML), anything else a 422 VALIDATION_FAILED whose findings say in
plain words, in the caller's language, which field is wrong and why (gateway.plain_words)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import GatewayError, MalformedJson, ValidationFailed
from .plain_words import describe, where


def _json_syntax(error: dict[str, Any], lang: str) -> dict[str, Any]:
    loc = list(error.get("loc") or ())
    position = next((p for p in loc if isinstance(p, int)), None)
    at = (
        ""
        if position is None
        else (f" ở ký tự thứ {position}" if lang == "vi" else f" at character {position}")
    )
    message = (
        f"Nội dung không phải JSON hợp lệ: lỗi cú pháp{at}"
        if lang == "vi"
        else f"The body is not valid JSON: syntax error{at}"
    )
    return {
        "code": "JSON_SYNTAX",
        "severity": "error",
        "message": message,
        "path": "body",
        "line": None,
    }


def request_problem(errors: Sequence[dict[str, Any]], lang: str) -> GatewayError:
    syntax = [e for e in errors if e.get("type") == "json_invalid"]
    if syntax:
        return MalformedJson(
            en="The body is not well-formed JSON", findings=[_json_syntax(syntax[0], lang)]
        )
    findings = []
    for error in errors:
        path = where(error.get("loc") or ())
        detail = describe(error, lang)
        findings.append(
            {
                "code": "REQUEST_INVALID",
                "severity": "error",
                "message": f"{path}: {detail}" if path else detail,
                "path": path,
                "line": None,
            }
        )
    return ValidationFailed(
        "Yêu cầu không hợp lệ", en="The request is not valid", findings=findings
    )
