"""/dashboard/signers (issue 13 item 2): an admin lists, adds (fingerprint, subject, pasted
PEM) and removes an agency's signing identities, audited; operators are kept out; agency text
and certificate subjects are escaped, Vietnamese intact. Both backends."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from ops_support import csrf_of, logged_in
from sqlalchemy import text

from gateway.trust.certs import CertificateInfo

A80 = "000.00.00.A80"


async def _actions(gw) -> list[str]:
    async with gw.db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT action FROM audit_events"))
        return [r[0] for r in rows]


async def test_admin_manages_signing_identities(gw, pki):
    await gw.setup(A80)
    await logged_in(gw, "quan-tri", role="admin")
    page = await gw.http.get("/dashboard/signers", params={"agency": A80})
    assert page.status_code == 200
    assert 'id="no-signers"' in page.text and "Chữ ký cơ quan" in page.text
    token = csrf_of(page.text)

    pem = pki.agency.public_bytes(serialization.Encoding.PEM).decode()
    r = await gw.http.post(
        "/dashboard/signers", data={"csrf_token": token, "agency": A80, "pem": pem}
    )
    assert r.status_code == 303 and "flash=sg_added" in r.headers["location"]
    r = await gw.http.post(
        "/dashboard/signers",
        data={"csrf_token": token, "agency": A80, "kind": "subject",
              "value": "O=UBND tỉnh Khánh Hòa", "label": "<b>văn thư</b>"},
    )
    assert "flash=sg_added" in r.headers["location"]
    r = await gw.http.post(
        "/dashboard/signers",
        data={"csrf_token": token, "agency": A80, "kind": "fingerprint", "value": "zz"},
    )
    assert "flash=sg_bad" in r.headers["location"]

    page = await gw.http.get("/dashboard/signers", params={"agency": A80})
    fingerprint = CertificateInfo.of(pki.agency).fingerprint_sha256
    assert fingerprint in page.text and "UBND xã Hòa Tiến" in page.text
    assert "O=UBND tỉnh Khánh Hòa" in page.text
    assert "&lt;b&gt;văn thư&lt;/b&gt;" in page.text and "<b>văn" not in page.text
    assert page.text.count("data-identity=") == 2
    identity = page.text.split('data-identity="', 1)[1].split('"', 1)[0]
    r = await gw.http.post(
        f"/dashboard/signers/{identity}/remove", data={"csrf_token": token, "agency": A80}
    )
    assert "flash=sg_removed" in r.headers["location"]
    page = await gw.http.get("/dashboard/signers", params={"agency": A80})
    assert page.text.count("data-identity=") == 1
    actions = await _actions(gw)
    assert actions.count("agency.signing_identity.added") == 2
    assert actions.count("agency.signing_identity.removed") == 1
    # a forged form (no CSRF token) changes nothing
    r = await gw.http.post("/dashboard/signers", data={"agency": A80, "value": "O=X",
                                                       "kind": "subject"})
    assert r.status_code == 403
    assert await gw.count("agency_signing_identities") == 1


async def test_operators_cannot_open_the_signers_page(gw):
    await logged_in(gw, "van-hanh", role="operator")
    overview = await gw.http.get("/dashboard/")
    assert "/dashboard/signers" not in overview.text
    assert (await gw.http.get("/dashboard/signers")).status_code == 403
