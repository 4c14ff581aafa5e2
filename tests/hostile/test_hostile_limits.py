"""Bounded work per request (issue 18, item 3) through the real app, on SQLite and PostgreSQL:
too many recipients and a package of zips past its decompression budget are refused 422 with
nothing stored; concurrent large intakes wait for one of a few slots before their body is read,
and are answered 503 (Retry-After) when none frees up in time; small packages never wait."""

from __future__ import annotations

import asyncio
import io
import zipfile

from conftest import GatewayClient, sample_bytes
from gateway.edxml import build_package, parse_package
from gateway.edxml.models import Attachment, Organization, Reference

A80, H17 = "000.00.00.A80", "28.22.H17"
MIB = 1024 * 1024
EDOC = sample_bytes("edoc_new.edxml")
TABLES = ("packages", "deliveries", "outbox", "audit_events", "queued_jobs")


async def counts(gw: GatewayClient) -> dict[str, int]:
    return {t: await gw.count(t) for t in TABLES}


def findings(r) -> list[str]:
    return [f["code"] for f in r.json()["error"].get("findings", [])]


async def test_too_many_recipients_are_refused(make_gateway) -> None:
    gw = await make_gateway(edxml_max_recipients=3)
    keys = await gw.setup(A80, H17)
    before = await counts(gw)
    package = parse_package(EDOC)
    package.header.recipients = [
        Organization(organ_id=f"000.00.0{i}.H17", organ_name="UBND") for i in range(4)
    ]
    r = await gw.post_package(build_package(package), keys[A80])
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "VALIDATION_FAILED"
    assert findings(r) == ["RECIPIENTS_TOO_MANY"]
    assert await counts(gw) == before


def zip_of(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def zips_expanding_to(count: int, size: int) -> bytes:
    package = parse_package(EDOC)
    package.references, package.attachments = [], []
    for i in range(count):
        name = f"phu-luc-{i}.txt"
        package.references.append(Reference(content_id=f"cid:{i}", attachment_name=name))
        package.attachments.append(
            Attachment(content_id=f"cid:{i}", attachment_name=name, data=zip_of(name, b"a" * size))
        )
    return build_package(package)


async def test_zip_bomb_spread_over_attachments_is_refused_by_the_package_budget(
    make_gateway,
) -> None:
    # each attachment is far under the per-attachment cap (100 MiB); together they are not
    gw = await make_gateway(edxml_max_package_expanded_bytes=4 * MIB)
    keys = await gw.setup(A80, H17)
    before = await counts(gw)
    data = zips_expanding_to(8, MIB)
    assert len(data) < MIB // 4  # a small package
    r = await gw.post_package(data, keys[A80])
    assert r.status_code == 422, r.text
    assert "ZIP_BOMB" in findings(r)
    assert await counts(gw) == before
    r = await gw.post_package(zips_expanding_to(1, MIB), keys[A80])
    assert r.status_code == 202, r.text


async def test_concurrent_large_intakes_wait_for_a_slot(make_gateway) -> None:
    gw = await make_gateway(
        large_intake_bytes=64 * 1024, large_intake_slots=1, large_intake_wait_seconds=0.2
    )
    keys = await gw.setup(A80, H17)
    headers = {"Content-Type": "application/xml", "Authorization": f"Bearer {keys[A80]}"}
    release = asyncio.Event()
    started = asyncio.Event()

    async def held_body():  # no Content-Length: size unknown, so a large intake
        started.set()
        yield EDOC[:1000]
        await release.wait()
        yield EDOC[1000:]

    first = asyncio.create_task(
        gw.http.post("/api/v1/packages", content=held_body(), headers=headers)
    )
    await started.wait()  # the first holds the only slot while its body trickles in
    r = await gw.http.post("/api/v1/packages", content=held_body(), headers=headers)
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert r.headers["Retry-After"] == "1"
    # a small package (declared under the threshold) does not wait for large ones
    small = EDOC.replace(b"<edXML:CodeNumber>74fass22", b"<edXML:CodeNumber>1", 1)
    small = parse_package(small)
    small.attachments, small.references = [], []
    small.header.document_id = "000.00.00.A80,2019/01/16,1/VPCP-TTĐT"
    r = await gw.post_package(build_package(small), keys[A80])
    assert r.status_code == 202, r.text
    release.set()
    r = await first
    assert r.status_code == 202, r.text
    # and the slot is free again
    r = await gw.post_package(EDOC, keys[A80])
    assert r.status_code == 202, r.text
