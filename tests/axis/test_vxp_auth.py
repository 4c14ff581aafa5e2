"""National-axis request signing (gateway.axis.vxp_auth), client and server side."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.axis.vxp_auth import (
    AuthCode,
    VxpAuthError,
    format_vxp_timestamp,
    hash_file_forms,
    match_hash_file,
    parse_vxp_timestamp,
    sign_headers,
    verify_request,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "edoc_new.edxml"
SYSTEM = "000.00.00.G22"
SECRET = "secretA"
SECRETS = {SYSTEM: SECRET, "000.00.00.H53": "secretB"}
NOW = datetime(2026, 11, 21, 6, 44, 49, 393000, tzinfo=UTC)  # 13:44:49.393 in Vietnam
STAMP = "21112026T134449+0393"


def signed(*extra: tuple[str, str], timestamp: str = STAMP) -> list[tuple[str, str]]:
    logical = [("systemid", SYSTEM), *extra, ("timestamp", timestamp)]
    return sign_headers([*logical, ("Content-Type", "application/json")], SECRET)


def verify(headers, now: datetime = NOW, **kwargs):
    return verify_request(headers, SECRETS.get, now=now, **kwargs)


def auth_error(headers, **kwargs) -> AuthCode:
    with pytest.raises(VxpAuthError) as caught:
        verify(headers, **kwargs)
    assert caught.value.message  # always a human (Vietnamese) explanation
    return caught.value.code


def replace(headers: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    return [(n, value if n == name else v) for n, v in headers]


# ------------------------------------------------------------------------------ timestamps


def test_timestamp_format_is_vietnam_local_time_with_milliseconds() -> None:
    assert format_vxp_timestamp(NOW) == STAMP
    assert format_vxp_timestamp(datetime(2026, 1, 2, 17, 0, 5, 7000, tzinfo=UTC)) == (
        "03012026T000005+0007"
    )
    assert parse_vxp_timestamp(STAMP) == NOW
    assert parse_vxp_timestamp(STAMP).utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "21112026T134449",
        "21112026T134449+393",
        "21112026T134449+1000",  # 1000 ms is not a millisecond count
        "32112026T134449+0393",
        "21132026T134449+0393",
        "21112026T246049+0393",
        "21112026 134449+0393",
        "21112026T134449+0393\n",
        "２1112026T134449+0393",  # full-width digit
        "2026-11-21T13:44:49+07:00",
    ],
)
def test_parse_timestamp_rejects_junk(junk: str) -> None:
    with pytest.raises(ValueError):
        parse_vxp_timestamp(junk)


def test_format_timestamp_rejects_naive() -> None:
    with pytest.raises(ValueError):
        format_vxp_timestamp(datetime(2026, 11, 21, 13, 44))


@given(st.datetimes(timezones=st.just(UTC), min_value=datetime(1980, 1, 1)))
def test_timestamp_round_trip_to_the_millisecond(moment: datetime) -> None:
    parsed = parse_vxp_timestamp(format_vxp_timestamp(moment))
    assert parsed == moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# ---------------------------------------------------------------------------- client side


def test_spec_worked_example() -> None:
    headers = signed()
    assert headers == [
        ("XroadVnpt-systemid", SYSTEM),
        ("XroadVnpt-timestamp", STAMP),
        ("XroadVnpt-Content-Type", "application/json"),
        ("XroadVnpt-sign-header-key", "systemid;timestamp;Content-Type"),
        (
            "XroadVnpt-sign-header",
            '{"XroadVnpt-systemid":"000.00.00.G22","XroadVnpt-timestamp":"21112026T134449+0393",'
            '"XroadVnpt-Content-Type":"application/json"}',
        ),
        (
            "XroadVnpt-hash-header",
            "30b851bca6de22fe40d2d737e75da84d1809a753a6aa7d4a8148d7f0e2398514",
        ),
        ("XroadVnpt-version", "3.0.201608"),
        ("User-Agent", "JAVASDKAgent/1.0.0 XRoad/VPCP"),
    ]


def test_sign_headers_accepts_a_mapping_and_keeps_non_ascii_and_quotes() -> None:
    headers = dict(
        sign_headers(
            {
                "systemid": SYSTEM,
                "to": '["000.00.00.H53"]',
                "filePath": "D:/Văn bản",
                "timestamp": STAMP,
            },
            SECRET,
        )
    )
    assert headers["XroadVnpt-sign-header"] == (
        '{"XroadVnpt-systemid":"000.00.00.G22","XroadVnpt-to":"[\\"000.00.00.H53\\"]",'
        '"XroadVnpt-filePath":"D:/Văn bản","XroadVnpt-timestamp":"21112026T134449+0393"}'
    )
    assert headers["XroadVnpt-to"] == '["000.00.00.H53"]'


@pytest.mark.parametrize(
    ("logical", "message"),
    [
        ([("timestamp", STAMP)], "systemid"),
        ([("systemid", SYSTEM)], "timestamp"),
        ([("systemid", SYSTEM), ("timestamp", STAMP), ("from", "a\r\nX-Evil: 1")], "control"),
        ([("systemid", SYSTEM), ("timestamp", STAMP), ("systemid", "x")], "repeat"),
        ([("systemid", SYSTEM), ("timestamp", STAMP), ("a b", "x")], "token"),
        ([("systemid", SYSTEM), ("timestamp", STAMP), ("a;b", "x")], "token"),
        ([("systemid", SYSTEM), ("timestamp", STAMP), ("Sign-Header", "x")], "reserved"),
    ],
)
def test_sign_headers_rejects_bad_logical_maps(logical, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sign_headers(logical, SECRET)


# ---------------------------------------------------------------------------- server side


def test_round_trip_with_keys_leaked_from_earlier_calls() -> None:
    # updateStatus after getEdoc/getReceivedEdocList on the same SDK service object.
    headers = signed(
        ("servicetype", "eDoc"),
        ("messagetype", "edoc"),
        ("docId", "4821"),
        ("filePath", "/tmp/edoc"),
        ("docid", "4821"),
        ("status", "done"),
    )
    request = verify(headers)
    assert request.system_id == SYSTEM
    assert request.timestamp == NOW
    assert request.get("status") == "done"
    assert request.get("DOCID") == request.get("docId") == "4821"
    assert request.get("servicetype") == "eDoc"
    assert request.get("missing") is None
    assert request.get("missing", "x") == "x"
    assert request.signed[0] == ("systemid", SYSTEM)


def test_twins_with_different_values() -> None:
    # getEdoc(docId=B) after updateStatus(docid=A): both spellings are signed.
    headers = signed(("docId", "B"), ("docid", "A"), ("status", "done"))
    request = verify(headers)  # the request itself is fine
    with pytest.raises(VxpAuthError) as caught:
        request.get("docId")
    assert caught.value.code == AuthCode.HEADER_MISMATCH
    assert request.get("docId", exact_first=True) == "B"
    assert request.get("docid", exact_first=True) == "A"


def test_http2_lower_case_names_and_asgi_raw_bytes() -> None:
    headers = signed(("docId", "B"), ("docid", "A"), ("filePath", "D:/Văn bản"))
    lowered = [(n.lower(), v) for n, v in headers]
    assert verify(lowered).get("docid", exact_first=True) == "A"
    raw = [(n.lower().encode("latin-1"), v.encode("utf-8")) for n, v in headers]
    assert verify(raw).get("filePath") == "D:/Văn bản"


def test_header_containers() -> None:
    headers = signed(("docId", "1"), ("docid", "1"))
    assert verify(dict(headers)).get("docid") == "1"
    assert verify(httpx.Headers(headers)).get("docid") == "1"


def test_unsigned_headers_are_ignored_and_real_content_type_may_differ() -> None:
    headers = [
        *signed(("status", "done")),
        ("XroadVnpt-docId", "999"),
        ("Content-Type", "Application/JSON; charset=UTF-8"),
    ]
    request = verify(headers)
    assert request.get("docId") is None


def test_hash_header_is_case_insensitive_hex() -> None:
    headers = signed()
    upper = replace(
        headers, "XroadVnpt-hash-header", dict(headers)["XroadVnpt-hash-header"].upper()
    )
    assert verify(upper).system_id == SYSTEM


def test_wrong_secret() -> None:
    headers = sign_headers([("systemid", SYSTEM), ("timestamp", STAMP)], "not-the-secret")
    assert auth_error(headers) == AuthCode.BAD_SIGNATURE


def test_tampered_sign_header() -> None:
    headers = signed(("status", "done"))
    sign_header = dict(headers)["XroadVnpt-sign-header"]
    tampered = replace(headers, "XroadVnpt-sign-header", sign_header.replace("done", "fail"))
    tampered = replace(tampered, "XroadVnpt-status", "fail")
    assert auth_error(tampered) == AuthCode.BAD_SIGNATURE
    # Re-serialising with spaces keeps the meaning but not the bytes that were signed.
    spaced = json.dumps(json.loads(sign_header))
    assert auth_error(replace(headers, "XroadVnpt-sign-header", spaced)) == AuthCode.BAD_SIGNATURE


def test_unknown_system() -> None:
    headers = sign_headers([("systemid", "000.00.00.X99"), ("timestamp", STAMP)], SECRET)
    assert auth_error(headers) == AuthCode.UNKNOWN_SYSTEM
    with pytest.raises(VxpAuthError) as caught:
        verify_request(signed(), lambda _: "", now=NOW)  # empty secret = not configured
    assert caught.value.code == AuthCode.UNKNOWN_SYSTEM


def test_stale_and_future_timestamps() -> None:
    skew = timedelta(minutes=5)
    old = format_vxp_timestamp(NOW - skew - timedelta(seconds=1))
    future = format_vxp_timestamp(NOW + skew + timedelta(seconds=1))
    assert auth_error(signed(timestamp=old), max_skew=skew) == AuthCode.STALE_TIMESTAMP
    assert auth_error(signed(timestamp=future), max_skew=skew) == AuthCode.STALE_TIMESTAMP
    edge = format_vxp_timestamp(NOW - skew)
    assert verify(signed(timestamp=edge), max_skew=skew).timestamp == NOW - skew


def test_timestamp_age_is_not_checked_by_default() -> None:
    # the SDK stamps once per object, in the JVM's zone: days old, or hours "ahead" (UTC+8)
    for moment in (NOW - timedelta(days=30), NOW + timedelta(hours=1)):
        stamp = format_vxp_timestamp(moment)
        assert verify(signed(timestamp=stamp)).timestamp == moment.replace(microsecond=393000)


def test_signed_timestamp_that_is_not_one() -> None:
    assert auth_error(signed(timestamp="2026-11-21 13:44:49")) == AuthCode.MALFORMED


def test_http_value_differs_from_signed_value() -> None:
    headers = signed(("docid", "4821"), ("status", "done"))
    assert auth_error(replace(headers, "XroadVnpt-status", "fail")) == AuthCode.HEADER_MISMATCH
    assert auth_error([*headers, ("xroadvnpt-DocId", "1")]) == AuthCode.HEADER_MISMATCH
    spoofed_system = replace(headers, "XroadVnpt-systemid", "000.00.00.H53")
    assert auth_error(spoofed_system) == AuthCode.HEADER_MISMATCH
    # The signed Content-Type is compared with its own XroadVnpt- header only.
    changed = replace(headers, "XroadVnpt-Content-Type", "application/JSON")
    assert auth_error(changed) == AuthCode.HEADER_MISMATCH


@pytest.mark.parametrize(
    "sign_header",
    [
        "not json",
        '["XroadVnpt-systemid", "000.00.00.G22"]',
        '{"XroadVnpt-systemid":"000.00.00.G22","XroadVnpt-systemid":"000.00.00.H53"}',
        '{"XroadVnpt-systemid":"000.00.00.G22","XroadVnpt-n":1}',
        '{"XroadVnpt-systemid":"000.00.00.G22","systemid":"x"}',
        '{"XroadVnpt-systemid":"000.00.00.G22","XroadVnpt-":"x"}',
        '"{}"',
    ],
)
def test_sign_header_that_is_not_a_json_object_of_strings(sign_header: str) -> None:
    headers = replace(signed(), "XroadVnpt-sign-header", sign_header)
    assert auth_error(headers) == AuthCode.MALFORMED
    raw = [(n.encode(), v.encode()) for n, v in signed()]
    raw = [(n, b"\xff{}" if n == b"XroadVnpt-sign-header" else v) for n, v in raw]
    assert auth_error(raw) == AuthCode.MALFORMED


def test_missing_or_repeated_signature_headers() -> None:
    headers = signed()
    no_hash = [(n, v) for n, v in headers if n != "XroadVnpt-hash-header"]
    assert auth_error(no_hash) == AuthCode.MISSING_HEADERS
    no_sign = [(n, v) for n, v in headers if n != "XroadVnpt-sign-header"]
    assert auth_error(no_sign) == AuthCode.MISSING_HEADERS
    assert auth_error([]) == AuthCode.MISSING_HEADERS
    without_system = sign_headers([("systemid", ""), ("timestamp", STAMP)], SECRET)
    assert auth_error(without_system) == AuthCode.MISSING_HEADERS
    twice = [*headers, ("xroadvnpt-hash-header", dict(headers)["XroadVnpt-hash-header"])]
    assert auth_error(twice) == AuthCode.MALFORMED


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        verify(signed(), now=datetime(2026, 11, 21, 13, 44))


_reserved = {"systemid", "timestamp", "content-type", "sign-header", "sign-header-key"}
_reserved |= {"hash-header", "version"}
_keys = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", min_size=1)
_values = st.text(
    st.characters(blacklist_categories=["Cs", "Cc"]) | st.just("\t"), max_size=40
).map(lambda v: v.strip(" \t"))


@given(
    st.lists(
        st.tuples(_keys.filter(lambda k: k.lower() not in _reserved), _values),
        unique_by=lambda kv: kv[0].lower(),
        max_size=8,
    ),
    st.sampled_from(["000.00.00.G22", "000.00.00.H53"]),
    st.timedeltas(min_value=-timedelta(minutes=15), max_value=timedelta(minutes=15)),
)
def test_anything_signed_verifies(extra, system: str, offset: timedelta) -> None:
    moment = NOW + offset
    logical = [("systemid", system), *extra, ("timestamp", format_vxp_timestamp(moment))]
    headers = sign_headers([*logical, ("Content-Type", "application/json")], SECRETS[system])
    request = verify(headers)
    assert request.system_id == system
    assert abs(request.timestamp - moment) < timedelta(milliseconds=1)
    for key, value in extra:
        assert request.get(key) == value
    raw = [(n.encode("latin-1"), v.encode("utf-8")) for n, v in headers]
    assert verify(raw).signed == request.signed


# ------------------------------------------------------------------------------- hash-file

TRUE_DIGEST = "12467915191b87937dfe1b66e2da34b0434ea3079f81f7a0edfad021da013cd5"
SDK_DIGEST = "12467915191b87937dfe1b66e2da34b0434ea379f81f7a0edfad021da13cd5"


def test_hash_file_forms_of_the_sample() -> None:
    file = SAMPLE.read_bytes()
    assert len(SDK_DIGEST) == 62
    for body in (file, file + b"\r\n"):
        forms = hash_file_forms(body)
        assert {TRUE_DIGEST, SDK_DIGEST} <= forms
        assert match_hash_file(body, SDK_DIGEST) == file
        assert match_hash_file(body, TRUE_DIGEST.upper()) == file
    assert match_hash_file(file + b"\r\n", "0" * 64) is None


def test_hash_file_forms_strip_trailing_line_breaks() -> None:
    forms = hash_file_forms(b"<edXML/>\r\n\r\n")
    assert hash_file_forms(b"<edXML/>") <= forms
    assert all(len(f) <= 64 for f in forms)
