"""Excluded documents through the API (both backends): 422 DOCUMENT_EXCLUDED naming the field,
audited, nothing stored; "bí mật" inside a sentence still goes through; operator rules apply."""

from __future__ import annotations

import json

from sqlalchemy import select

from conftest import rewrite, sample_bytes

A80, H17 = "000.00.00.A80", "28.22.H17"
SPHERE = "<edXML:SphereOfPromulgation>Liên thông văn bản quốc gia</edXML:SphereOfPromulgation>"
SUBJECT = "<edXML:Subject>V/v kết nối, liên thông phần mềm quản lý văn bản</edXML:Subject>"


def with_sphere(value: str) -> bytes:
    return rewrite(
        sample_bytes("edoc_new.edxml"),
        SPHERE,
        f"<edXML:SphereOfPromulgation>{value}</edXML:SphereOfPromulgation>",
    )


async def excluded_events(gw) -> list:
    from gateway.audit.models import AuditEvent

    async with gw.db.sessionmaker() as s:
        rows = await s.scalars(select(AuditEvent).where(AuditEvent.action == "package.excluded"))
        return list(rows.all())


async def test_secret_document_is_refused_and_audited(gw):
    keys = await gw.setup(A80, H17)
    data = rewrite(
        with_sphere("TỐI MẬT"), SUBJECT, "<edXML:Subject>TỐI MẬT: Kế hoạch</edXML:Subject>"
    )
    r = await gw.post_package(data, keys[A80])
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "DOCUMENT_EXCLUDED"
    assert "TỐI MẬT" in error["message"]  # UTF-8 kept
    details = error["details"]
    assert details["field"] == "OtherInfo/SphereOfPromulgation"
    assert details["path"].endswith("/MessageHeader/OtherInfo/SphereOfPromulgation")
    assert details["line"] == 51
    assert details["rule"] == "secret-sphere"
    assert {m["field"] for m in details["matches"]} == {
        "OtherInfo/SphereOfPromulgation",
        "Subject",
    }
    assert await gw.count("packages") == 0
    assert await gw.count("deliveries") == 0
    assert await gw.count("outbox") == 0
    [event] = await excluded_events(gw)
    assert event.data["from"] == A80
    assert event.data["field"] == "OtherInfo/SphereOfPromulgation"
    assert event.data["value"] == "TỐI MẬT"


async def test_secret_word_inside_a_sentence_goes_through(gw):
    keys = await gw.setup(A80, H17)
    data = rewrite(
        sample_bytes("edoc_new.edxml"),
        SUBJECT,
        "<edXML:Subject>Về việc tăng cường bảo vệ bí mật nhà nước, tài liệu mật</edXML:Subject>",
    )
    r = await gw.post_package(data, keys[A80])
    assert r.status_code == 202, r.text
    assert await excluded_events(gw) == []


async def test_another_agency_gets_no_audit_event(gw):
    keys = await gw.setup(A80, H17)
    r = await gw.post_package(with_sphere("Mật"), keys[H17])  # From is A80, caller is H17
    assert r.json()["error"]["code"] == "DOCUMENT_EXCLUDED"
    assert await excluded_events(gw) == []


async def test_operator_rule_file_extends_the_table(make_gateway, tmp_path):
    rules = tmp_path / "exclusions.json"
    rules.write_text(
        json.dumps(
            [
                {
                    "id": "noi-bo",
                    "field": "OtherInfo/SphereOfPromulgation",
                    "values": ["Lưu hành nội bộ"],
                    "reason": "Văn bản chỉ lưu hành nội bộ",
                }
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    gw = await make_gateway(exclusion_rules_file=rules)
    keys = await gw.setup(A80, H17)
    r = await gw.post_package(with_sphere("Lưu hành nội bộ"), keys[A80])
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["rule"] == "noi-bo"
    assert r.json()["error"]["message"].startswith("Văn bản")
    r = await gw.post_package(sample_bytes("edoc_new.edxml"), keys[A80])
    assert r.status_code == 202, r.text
