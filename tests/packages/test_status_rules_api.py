"""Who may say what about a document (Decision 28/2018/QĐ-TTg status codes), on both backends:
only a recipient (or its successor) sends 01–06, 15, 16; only the sender sends 13; nothing after
02/06; 15/16 only answer a request; skipped steps warn; a status is linked only to a document
its sender really received (issue 18 item 8)."""

from __future__ import annotations

import pytest

from conftest import original_from_g22, rewrite, sample_bytes

G22, H41, H14, G17 = "000.00.00.G22", "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"
H99 = "000.00.02.H99"

SAMPLES = {
    "01": "status_inbox_01.edxml",
    "02": "status_rejection_02.edxml",
    "03": "status_acceptance_03.edxml",
    "04": "status_assignment_04.edxml",
    "05": "status_processing_05.edxml",
    "06": "status_finish_06.edxml",
    "13": "status_cancellation_13.edxml",
    "15": "status_change-acceptance_15.edxml",
    "16": "status_change-rejection_16.edxml",
}


def status(code: str, *, sender: str | None = None, to: str | None = None) -> bytes:
    """A sample status (From H41 → ResponseFor G22, or G22 → H41 for 13), re-addressed."""
    raw = sample_bytes(SAMPLES[code])
    first, second = (G22, H41) if code == "13" else (H41, G22)
    # From comes first in the package, ResponseFor/OrganId second
    if sender or to:
        tag = "<edXML:OrganId>{}</edXML:OrganId>".format
        raw = rewrite(raw, tag(first), tag("@@"))
        raw = rewrite(raw, tag(second), tag(to or second))
        raw = rewrite(raw, tag("@@"), tag(sender or first))
    return raw


@pytest.fixture
async def keys(gw):
    return await gw.setup(G22, H41, H14, G17)


@pytest.fixture
async def original(gw, keys):
    r = await gw.post_package(original_from_g22(), keys[G22])
    assert r.status_code == 202, r.text
    return r.json()


def code_of(r) -> str:
    return r.json()["error"]["code"]


async def timeline_statuses(gw, keys, original) -> list[tuple[str, str]]:
    tl = (await gw.get(f"/api/v1/packages/{original['package_id']}/timeline", keys[G22])).json()
    return [(s["code"], s["sender"]) for s in tl["statuses"]]


async def test_non_recipient_cannot_send_a_status(gw, keys, original):
    await gw.add_agency(H99)
    outsider = await gw.add_system("qlvb-outsider", H99)
    r = await gw.post_package(status("06", sender=H99), outsider)
    assert r.status_code == 403, r.text
    assert code_of(r) == "STATUS_SENDER_NOT_PARTY"
    assert r.json()["error"]["details"]["original_package_id"] == original["package_id"]
    assert await gw.count("packages") == 1  # nothing stored, nothing delivered
    assert (await gw.get("/api/v1/inbox", keys[G22], params={"kind": "status"})).json()[
        "items"
    ] == []


async def test_sender_cannot_send_recipient_codes(gw, keys, original):
    # G22 "finishes" its own document towards H41
    r = await gw.post_package(status("06", sender=G22, to=H41), keys[G22])
    assert r.status_code == 403, r.text
    assert code_of(r) == "STATUS_ROLE_NOT_ALLOWED"
    assert await gw.count("packages") == 1


async def test_recipient_cannot_send_take_back(gw, keys, original):
    # H41 asks G22 to "take back" G22's own document
    r = await gw.post_package(status("13", sender=H41, to=G22), keys[H41])
    assert r.status_code == 403, r.text
    assert code_of(r) == "STATUS_ROLE_NOT_ALLOWED"


async def test_take_back_only_to_a_recipient(gw, keys, original):
    await gw.add_agency(H99)
    r = await gw.post_package(status("13", to=H99), keys[G22])
    assert r.status_code == 422, r.text
    assert code_of(r) == "STATUS_ADDRESSEE_MISMATCH"


async def test_status_addressed_elsewhere_is_not_linked_nor_delivered(gw, keys, original):
    # issue 18 item 8: H41 received G22's document, sends a status about it to H14
    r = await gw.post_package(status("03", to=H14), keys[H41])
    assert r.status_code == 422, r.text
    assert code_of(r) == "STATUS_ADDRESSEE_MISMATCH"
    assert await timeline_statuses(gw, keys, original) == []
    inbox = (await gw.get("/api/v1/inbox", keys[H14], params={"kind": "status"})).json()
    assert inbox["items"] == []


async def test_nothing_after_a_final_status(gw, keys, original):
    for code in ("01", "03", "06"):
        r = await gw.post_package(status(code), keys[H41])
        assert r.status_code == 202, r.text
    r = await gw.post_package(status("05"), keys[H41])
    assert r.status_code == 409, r.text
    assert code_of(r) == "STATUS_AFTER_FINAL"
    assert r.json()["error"]["details"]["final"] == "06"
    # the sender's take-back after "done" is refused too
    r = await gw.post_package(status("13"), keys[G22])
    assert code_of(r) == "STATUS_AFTER_FINAL"
    # another recipient's copy is unaffected
    r = await gw.post_package(status("02", sender=H14), keys[H14])
    assert r.status_code == 202, r.text
    r = await gw.post_package(status("03", sender=H14), keys[H14])
    assert (r.status_code, code_of(r)) == (409, "STATUS_AFTER_FINAL")
    assert r.json()["error"]["details"]["final"] == "02"
    assert [c for c, _ in await timeline_statuses(gw, keys, original)] == ["01", "03", "06", "02"]


async def test_take_back_answer_needs_a_request(gw, keys, original):
    r = await gw.post_package(status("15"), keys[H41])
    assert r.status_code == 409, r.text
    assert code_of(r) == "STATUS_NO_TAKE_BACK_REQUEST"
    r = await gw.post_package(status("13"), keys[G22])
    assert r.status_code == 202, r.text
    r = await gw.post_package(status("16"), keys[H41])
    assert r.status_code == 202, r.text
    assert r.json()["linked"] is True
    # one request, one answer: a second answer is refused
    r = await gw.post_package(status("15"), keys[H41])
    assert code_of(r) == "STATUS_NO_TAKE_BACK_REQUEST"
    # H14 was not asked
    r = await gw.post_package(status("15", sender=H14), keys[H14])
    assert code_of(r) == "STATUS_NO_TAKE_BACK_REQUEST"


async def test_revoke_counts_as_a_request(gw, keys, original):
    await gw.get(f"/api/v1/packages/{original['package_id']}", keys[H41])  # H41 has its copy
    r = await gw.post_package(sample_bytes("edoc_revocation.edxml"), keys[G22])
    assert r.status_code == 202, r.text
    r = await gw.post_package(status("15"), keys[H41])
    assert r.status_code == 202, r.text
    # H14's copy was cancelled by the revoke before it was fetched: it may answer the revoke,
    # but say nothing else about a document it never received
    r = await gw.post_package(status("16", sender=H14), keys[H14])
    assert r.status_code == 202, r.text
    r = await gw.post_package(status("03", sender=H14), keys[H14])
    assert (r.status_code, code_of(r)) == (403, "STATUS_SENDER_NOT_PARTY")


async def test_skipped_steps_are_accepted_with_a_warning(gw, keys, original):
    r = await gw.post_package(status("01"), keys[H41])
    assert r.status_code == 202
    assert "STATUS_STEP_SKIPPED" not in {w["code"] for w in r.json()["warnings"]}
    r = await gw.post_package(status("05"), keys[H41])
    assert r.status_code == 202, r.text
    [w] = [w for w in r.json()["warnings"] if w["code"] == "STATUS_STEP_SKIPPED"]
    assert w["severity"] == "warning" and "03" in w["message"] and "04" in w["message"]
    assert r.json()["linked"] is True


async def test_successor_of_a_recipient_may_answer(gw, keys, original):
    await gw.add_agency(H99)
    successor = await gw.add_system("qlvb-h99", H99)
    p = await gw.http.patch(
        f"/api/v1/admin/agencies/{H41}",
        json={"active": False, "superseded_by": H99},
        headers=await gw.admin(),
    )
    assert p.status_code == 200, p.text
    r = await gw.post_package(status("03", sender=H99), successor)
    assert r.status_code == 202, r.text
    assert r.json()["linked"] is True
    assert await timeline_statuses(gw, keys, original) == [("03", H99)]


async def test_status_for_unknown_document_is_routed_with_a_warning(gw, keys):
    r = await gw.post_package(status("03"), keys[H41])
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["linked"] is False
    assert "STATUS_DOCUMENT_UNKNOWN" in {w["code"] for w in body["warnings"]}
