"""The API's words: Vietnamese by default, English on Accept-Language, field details in plain
words, malformed JSON answered like malformed XML, and the request id in every error body."""

from __future__ import annotations

import re

import pytest

from conftest import original_from_g22
from gateway.api_language import negotiate
from gateway.plain_words import describe, where

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
EN = {"Accept-Language": "en-US,en;q=0.9,vi;q=0.5"}


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "vi"),
        ("", "vi"),
        ("en", "en"),
        ("en-GB", "en"),
        ("vi-VN,vi;q=0.9,en;q=0.8", "vi"),
        ("fr-FR,en;q=0.5", "en"),
        ("en;q=0.2,vi;q=0.8", "vi"),
        ("en;q=0", "vi"),
        ("*", "vi"),
        ("en;q=abc", "vi"),
    ],
)
def test_negotiate(header, lang, backend) -> None:
    assert negotiate(header) == lang


def test_plain_words(backend) -> None:
    missing = {"type": "missing", "loc": ("body", "agencies", 0, "code"), "msg": "Field required"}
    assert where(missing["loc"]) == "body.agencies[0].code"
    assert describe(missing) == "bắt buộc, chưa có"
    assert describe(missing, "en") == "is required but missing"
    choice = {"type": "literal_error", "ctx": {"expected": "'push' or 'poll'"}, "msg": "x"}
    assert describe(choice, "en") == "must be one of: 'push', 'poll'"
    assert describe({"type": "something_new", "msg": "Pydantic's words"}) == "Pydantic's words"


async def test_malformed_json_is_400_like_malformed_xml(gw) -> None:
    r = await gw.http.post(
        "/api/v1/admin/agencies",
        content=b'{"code": "000.00.00.X01",',
        headers={**(await gw.admin()), "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "MALFORMED_JSON"
    assert error["message"] == "Nội dung không phải JSON hợp lệ (không đúng cú pháp)"
    [finding] = error["findings"]
    assert finding["path"] == "body" and "ký tự thứ" in finding["message"]
    assert error["request_id"] == r.headers["X-Request-Id"]
    assert await gw.count("agencies") == 0
    spec = (await gw.http.get("/api/v1/openapi.json")).json()
    documented = spec["paths"]["/api/v1/admin/agencies"]["post"]["responses"]["400"]
    assert "MALFORMED_JSON" in documented["description"]


async def test_field_details_in_plain_vietnamese_then_english(gw) -> None:
    body = {"name": "Cơ quan không mã", "delivery_mode": "fax"}
    r = await gw.http.post("/api/v1/admin/agencies", json=body, headers=await gw.admin())
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["message"] == "Yêu cầu không hợp lệ"
    messages = {f["path"]: f["message"] for f in error["findings"]}
    assert messages["body.code"] == "body.code: bắt buộc, chưa có"
    assert "Field required" not in str(error)

    r = await gw.http.post(
        "/api/v1/admin/agencies", json=body, headers={**(await gw.admin()), **EN}
    )
    error = r.json()["error"]
    assert error["message"] == "The request is not valid"
    messages = {f["path"]: f["message"] for f in error["findings"]}
    assert messages["body.code"] == "body.code: is required but missing"
    assert error["request_id"] == r.headers["X-Request-Id"]


async def test_every_error_names_its_request(gw) -> None:
    caller_id = "integration-test-42"
    unauthenticated = await gw.http.get("/api/v1/inbox", headers={"X-Request-Id": caller_id})
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"]["request_id"] == caller_id
    for r in (
        await gw.http.get("/api/v1/no-such-route"),
        await gw.http.delete("/api/v1/health"),
        await gw.http.get("/api/v1/agencies/000.00.00.Z99", headers=await gw.admin()),
    ):
        assert r.json()["error"]["request_id"] == r.headers["X-Request-Id"], r.text


async def test_english_messages_are_the_raisers_own(gw) -> None:
    path = "/api/v1/agencies/000.00.00.Z99"
    vi = (await gw.http.get(path, headers=await gw.admin())).json()["error"]
    assert vi["code"] == "NOT_FOUND" and "000.00.00.Z99" in vi["message"]
    en = (await gw.http.get(path, headers={**(await gw.admin()), **EN})).json()["error"]
    assert en["code"] == "NOT_FOUND"
    assert en["message"] == "No agency with code 000.00.00.Z99"  # the raiser's English
    assert "details" not in en  # a full translation: nothing left in Vietnamese
    wrong_method = await gw.http.delete("/api/v1/health", headers=EN)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert wrong_method.json()["error"]["message"] == "This HTTP method is not allowed on this path"
    assert "allow" in wrong_method.headers


async def test_report_errors_follow_the_language(gw) -> None:
    url = "/api/v1/admin/reports/monthly?month=10/2026"
    vi = (await gw.http.get(url, headers=await gw.admin())).json()["error"]
    assert vi["message"].startswith("tháng phải có dạng 2026-10")
    en = (await gw.http.get(url, headers={**(await gw.admin()), **EN})).json()["error"]
    assert en["message"].startswith("month must look like 2026-10")
    assert "details" not in en  # a full translation: nothing left in Vietnamese


VIETNAMESE_LETTERS = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.IGNORECASE
)


async def test_english_error_bodies_have_no_vietnamese(gw) -> None:
    """The common failures of registry, deliveries, packages, auth and reports, asked for in
    English: each message is English (and specific), none falls back to Vietnamese."""
    keys = await gw.setup("000.00.00.G22", "000.00.00.H41")
    admin = {**(await gw.admin()), **EN}
    system = {"Authorization": f"Bearer {keys['000.00.00.G22']}", **EN}
    h = gw.http
    calls = [
        # registry
        (404, h.get("/api/v1/agencies/000.00.00.Z99", headers=admin)),
        (
            409,
            h.post(
                "/api/v1/admin/agencies", json={"code": "000.00.00.G22", "name": "X"}, headers=admin
            ),
        ),
        (
            422,
            h.patch(
                "/api/v1/admin/agencies/000.00.00.G22",
                json={"parent_code": "000.00.00.G22"},
                headers=admin,
            ),
        ),
        (
            422,
            h.patch(
                "/api/v1/admin/agencies/000.00.00.G22",
                json={"parent_code": "000.00.00.Z98"},
                headers=admin,
            ),
        ),
        (404, h.get("/api/v1/admin/systems/no-such-system", headers=admin)),
        (
            409,
            h.post(
                "/api/v1/admin/systems",
                json={"name": "qlvb-000.00.00.G22", "agencies": ["000.00.00.G22"]},
                headers=admin,
            ),
        ),
        (
            422,
            h.post(
                "/api/v1/admin/systems",
                json={"name": "other", "agencies": ["000.00.00.Z97"]},
                headers=admin,
            ),
        ),
        (
            400,
            h.post(
                "/api/v1/admin/agencies/import",
                content=b"name\nX",
                headers={**admin, "Content-Type": "text/csv"},
            ),
        ),
        (
            415,
            h.post(
                "/api/v1/admin/agencies/import",
                content=b"x",
                headers={**admin, "Content-Type": "text/plain"},
            ),
        ),
        # deliveries
        (
            404,
            h.post(
                "/api/v1/admin/deliveries/no-such/cancel", json={"reason": "test"}, headers=admin
            ),
        ),
        (
            404,
            h.post(
                "/api/v1/admin/deliveries/no-such/resend", json={"reason": "test"}, headers=admin
            ),
        ),
        (
            422,
            h.post(
                "/api/v1/admin/deliveries/resend",
                json={"reason": "test", "agency": "000.00.00.H41", "delivery_ids": ["x"]},
                headers=admin,
            ),
        ),
        (403, h.get("/api/v1/notices?agency=000.00.00.H41", headers=system)),
        # packages
        (404, h.get("/api/v1/packages/no-such-package", headers=system)),
        (404, h.get("/api/v1/packages/no-such-package/timeline", headers=system)),
        (404, h.post("/api/v1/deliveries/no-such/ack", headers=system)),
        (403, h.get("/api/v1/inbox?agency=000.00.00.H41", headers=system)),
        (400, h.get("/api/v1/inbox?agency=000.00.00.G22&cursor=nonsense", headers=system)),
        (
            403,
            h.post(
                "/api/v1/packages",
                content=original_from_g22(),
                headers={**admin, "Content-Type": "application/xml"},
            ),
        ),
        # auth
        (401, h.get("/api/v1/inbox", headers={"Authorization": "Bearer gw_wrong", **EN})),
        (401, h.get("/api/v1/inbox", headers=EN)),
        (403, h.get("/api/v1/admin/systems", headers=system)),
        # reports
        (422, h.get("/api/v1/admin/reports/monthly?month=10/2026", headers=admin)),
    ]
    for status, call in calls:
        response = await call
        error = response.json()["error"]
        assert response.status_code == status, (response.request.url, response.text)
        assert not VIETNAMESE_LETTERS.search(error["message"]), (response.request.url, error)
        assert "message_vi" not in (error.get("details") or {}), (response.request.url, error)
