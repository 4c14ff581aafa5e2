"""Pydantic's validation errors in plain words, in Vietnamese or English.

Pydantic describes a problem in its own English ("Field required", "Input should be a valid
integer, unable to parse string as an integer") at a location like ("body", "agencies", 0). People
reading the API's findings or a settings error get instead: "agencies[0]: bắt buộc, chưa có".
Only the error `type` and its `ctx` are read, so the words do not change with pydantic versions;
an unknown type falls back to pydantic's own message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_WORDS: dict[str, tuple[str, str]] = {
    # type: (Vietnamese, English); {names} come from the error's ctx
    "missing": ("bắt buộc, chưa có", "is required but missing"),
    "extra_forbidden": ("không được phép (trường lạ)", "is not allowed (unknown field)"),
    "literal_error": ("phải là một trong: {expected}", "must be one of: {expected}"),
    "enum": ("phải là một trong: {expected}", "must be one of: {expected}"),
    "int_parsing": ("phải là số nguyên", "must be a whole number"),
    "int_type": ("phải là số nguyên", "must be a whole number"),
    "int_from_float": ("phải là số nguyên", "must be a whole number"),
    "float_parsing": ("phải là số", "must be a number"),
    "float_type": ("phải là số", "must be a number"),
    "bool_parsing": ("phải là true hoặc false", "must be true or false"),
    "bool_type": ("phải là true hoặc false", "must be true or false"),
    "string_type": ("phải là chuỗi ký tự", "must be text"),
    "string_too_short": (
        "phải dài ít nhất {min_length} ký tự",
        "must be at least {min_length} characters long",
    ),
    "string_too_long": (
        "chỉ được dài tối đa {max_length} ký tự",
        "must be at most {max_length} characters long",
    ),
    "string_pattern_mismatch": ("không đúng định dạng", "does not have the expected format"),
    "too_short": ("phải có ít nhất {min_length} phần tử", "must have at least {min_length} items"),
    "too_long": ("chỉ được có tối đa {max_length} phần tử", "must have at most {max_length} items"),
    "greater_than": ("phải lớn hơn {gt}", "must be greater than {gt}"),
    "greater_than_equal": ("phải lớn hơn hoặc bằng {ge}", "must be at least {ge}"),
    "less_than": ("phải nhỏ hơn {lt}", "must be less than {lt}"),
    "less_than_equal": ("phải nhỏ hơn hoặc bằng {le}", "must be at most {le}"),
    "list_type": ("phải là một danh sách", "must be a list"),
    "dict_type": ("phải là một đối tượng JSON", "must be a JSON object"),
    "model_type": ("phải là một đối tượng JSON", "must be a JSON object"),
    "model_attributes_type": ("phải là một đối tượng JSON", "must be a JSON object"),
    "url_parsing": ("phải là một địa chỉ URL", "must be a URL"),
    "url_type": ("phải là một địa chỉ URL", "must be a URL"),
    "url_scheme": (
        "phải là URL với giao thức {expected_schemes}",
        "must be a {expected_schemes} URL",
    ),
    "datetime_parsing": ("phải là ngày giờ ISO 8601", "must be an ISO 8601 date and time"),
    "datetime_from_date_parsing": (
        "phải là ngày giờ ISO 8601",
        "must be an ISO 8601 date and time",
    ),
    "datetime_type": ("phải là ngày giờ ISO 8601", "must be an ISO 8601 date and time"),
    "date_parsing": ("phải là ngày dạng YYYY-MM-DD", "must be a date like YYYY-MM-DD"),
    "date_from_datetime_parsing": (
        "phải là ngày dạng YYYY-MM-DD",
        "must be a date like YYYY-MM-DD",
    ),
    "date_type": ("phải là ngày dạng YYYY-MM-DD", "must be a date like YYYY-MM-DD"),
    "uuid_parsing": ("phải là một UUID", "must be a UUID"),
    "uuid_type": ("phải là một UUID", "must be a UUID"),
    "json_invalid": ("không phải JSON hợp lệ ({error})", "is not valid JSON ({error})"),
    "json_type": ("phải là JSON", "must be JSON"),
}


def where(loc: Iterable[Any], *, skip_source: bool = False) -> str:
    """("body", "agencies", 0, "code") → "body.agencies[0].code" (or "agencies[0].code")."""
    parts = list(loc)
    if skip_source and parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def describe(error: Mapping[str, Any], lang: str = "vi") -> str:
    """What is wrong with the value, without its location."""
    kind = str(error.get("type", ""))
    ctx = dict(error.get("ctx") or {})
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])  # our own validators' messages
    if "expected" in ctx:  # "'warn' or 'require'" → "'warn', 'require'" (no English "or")
        ctx["expected"] = str(ctx["expected"]).replace(" or ", ", ")
    words = _WORDS.get(kind)
    if words is None:
        return str(error.get("msg", kind))
    template = words[1] if lang == "en" else words[0]
    try:
        return template.format(**{k: str(v) for k, v in ctx.items()})
    except (KeyError, IndexError):
        return str(error.get("msg", kind))
