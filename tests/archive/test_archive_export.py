"""Archive hand-off: export a signed bundle, verify it offline, prune behind tombstones (both
backends), and the tamper cases `gateway archive verify` must catch."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from conftest import original_from_g22, sample_bytes
from gateway.archive.bundle import CERTIFICATE, MANIFEST, verify_bundle
from gateway.archive.cli import export_bundle, prune_exported
from gateway.archive.models import ArchiveExport
from gateway.archive.service import ArchiveError, Selection
from gateway.audit.models import AuditEvent
from gateway.audit.service import chain_and_verify
from gateway.db import VIETNAM, utcnow
from gateway.edxml import open_attachment, parse_package
from gateway.packages.models import ArchiveTombstone
from gateway.trust import GatewaySigner
from gateway.trust.keys import init_dev_keys
from support.seeding import A80, G17, G22, H14, H41, seed


def today():
    return utcnow().astimezone(VIETNAM).date()


def g22_selection(**kw) -> Selection:
    day = today()
    return Selection(
        agencies=(G22,),
        start=day - timedelta(days=1),
        end=day,
        document_types=("Công văn",),
        **kw,
    )


def members(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(bundle: Path, target: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return target


async def test_export_verify_prune(gw, tmp_path):
    history = await seed(gw)
    settings = gw.app.state.settings
    original_id = history["original"]["package_id"]
    bundle = tmp_path / "out" / "g22.zip"

    path, sha, count, pruned = await export_bundle(settings, g22_selection(), bundle, actor="test")
    assert (path, count, pruned) == (bundle, 1, [])
    assert sha == hashlib.sha256(bundle.read_bytes()).hexdigest()

    files = members(bundle)
    base = f"packages/{original_id}"
    raw = original_from_g22()
    assert files[f"{base}/package.edxml"] == raw  # exactly as received
    attachment = parse_package(raw).attachments[0]
    with open_attachment(attachment) as stream:
        real = stream.read()
    assert files[f"{base}/attachments/1896_QD-TTg_m_294779.doc"] == real  # unwrapped
    assert {MANIFEST, CERTIFICATE, "README.txt"} <= set(files)

    meta = json.loads(files[f"{base}/metadata.json"])
    assert meta["document_id"] == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert meta["sender"]["code"] == G22
    assert [r["code"] for r in meta["recipients"]] == [H41, H14, G17]
    assert meta["sha256"] == hashlib.sha256(raw).hexdigest()
    assert meta["document_type"]["name"] == "Công văn"
    assert meta["promulgation"]["date"]
    assert "signature_class" in meta and "signer" in meta
    states = {r["recipient"]: r["state"] for r in meta["timeline"]["recipients"]}
    assert states == {H41: "acknowledged", H14: "acknowledged", G17: "acknowledged"}
    h41 = next(r for r in meta["timeline"]["recipients"] if r["recipient"] == H41)
    assert [s["code"] for s in h41["statuses"]] == ["03"]
    assert h41["acknowledged_at"] and h41["delivered_at"]
    actions = [e["action"] for e in meta["audit_events"]]
    assert actions[0] == "package.accepted" and "delivery.acknowledged" in actions
    [att] = meta["attachments"]
    assert att["sha256"] == hashlib.sha256(real).hexdigest() and att["format"] == "txt"

    # offline verification: with the bundled certificate and with the pinned one
    report = verify_bundle(bundle)
    assert report.ok, report.problems
    assert (report.packages, report.files) == (1, 6)
    checkpoint = json.loads(files["audit-checkpoint.json"])  # a signed one, kept outside
    assert (await chain_and_verify(gw.db, expect=[checkpoint["token"]])).ok
    pinned = (settings.keys_dir / "gateway-cert.pem").read_bytes()
    assert verify_bundle(bundle, pinned).ok

    async with gw.db.sessionmaker() as s:
        [export] = (await s.scalars(select(ArchiveExport))).all()
        assert (export.package_id, export.bundle_sha256) == (original_id, sha)
        actions = (await s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq))).all()
        assert actions[-1] == "archive.exported"

    # prune: the exported document loses its bytes, keeps its row, timeline and audit trail
    tomorrow = today() + timedelta(days=1)
    report = await prune_exported(settings, tomorrow, actor="test", dry_run=False)
    assert [c.package_id for c in report.pruned] == [original_id]
    assert report.freed_bytes == len(raw)
    keys = history["keys"]
    gone = await gw.get(f"/api/v1/packages/{original_id}", keys[G22])
    assert gone.status_code == 410, gone.text
    error = gone.json()["error"]
    assert error["code"] == "GONE"
    assert error["details"]["sha256"] == hashlib.sha256(raw).hexdigest()
    assert error["details"]["bundle_sha256"] == sha
    timeline = await gw.get(f"/api/v1/packages/{original_id}/timeline", keys[G22])
    assert timeline.status_code == 200
    assert timeline.json()["package"]["sha256"] == hashlib.sha256(raw).hexdigest()
    async with gw.db.sessionmaker() as s:
        tomb = await s.get(ArchiveTombstone, original_id)
        assert (tomb.sha256, tomb.size, tomb.bundle_sha256) == (meta["sha256"], len(raw), sha)
        last = (await s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))).one()
        assert (last.action, last.subject) == ("package.pruned", f"package:{original_id}")
    chain = await chain_and_verify(gw.db)
    assert chain.ok and chain.pending == 0, chain.reason

    # pruning again does nothing; exporting the same selection again finds nothing left
    again = await prune_exported(settings, tomorrow, actor="test", dry_run=False)
    assert again.pruned == []
    with pytest.raises(ArchiveError, match="pruned already"):
        await export_bundle(settings, g22_selection(), tmp_path / "again.zip", actor="test")
    # the exported bundle still verifies
    assert verify_bundle(bundle).ok


async def test_documents_still_waiting_are_not_pruned(gw, tmp_path):
    history = await seed(gw)
    settings = gw.app.state.settings
    everything = Selection(start=today(), end=today())
    _, _, count, _ = await export_bundle(settings, everything, tmp_path / "all.zip", actor="t")
    assert count == 2  # both documents, not the status package
    report = await prune_exported(settings, today() + timedelta(days=1), actor="t", dry_run=False)
    assert [c.package_id for c in report.pruned] == [history["original"]["package_id"]]
    assert report.skipped == [(history["other"]["package_id"], "a copy is still pending or failed")]
    # the waiting copy is still fetched normally
    other = history["other"]
    got = await gw.get(f"/api/v1/packages/{other['package_id']}", history["keys"][A80])
    assert got.status_code == 200
    assert got.content.startswith(sample_bytes("edoc_new.edxml")[:200])


async def test_nothing_prunable_before_export(gw, tmp_path):
    await seed(gw)
    settings = gw.app.state.settings
    early = await prune_exported(settings, today() + timedelta(days=1), actor="t", dry_run=False)
    assert early.pruned == []
    # exported today, so nothing was exported before today
    await export_bundle(settings, g22_selection(), tmp_path / "g22.zip", actor="t")
    report = await prune_exported(settings, today(), actor="t", dry_run=True)
    assert report.pruned == []


# ------------------------------------------------------------------- tampering (files only)
@pytest.fixture
async def bundle(gw, tmp_path) -> Path:
    await seed(gw)
    path, *_ = await export_bundle(
        gw.app.state.settings, g22_selection(), tmp_path / "b.zip", actor="t"
    )
    return path


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_tampering_is_caught(bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("GATEWAY_LANG", "en")  # the reasons below are read in English
    files = members(bundle)
    package = next(n for n in files if n.endswith("package.edxml"))
    attachment = next(n for n in files if "/attachments/" in n)

    changed = dict(files)
    changed[attachment] = files[attachment].replace(b"edXML", b"EDXML", 1)
    report = verify_bundle(rezip(bundle, tmp_path / "changed.zip", changed))
    assert not report.ok
    assert any(attachment in p and "SHA-256" in p for p in report.problems)

    missing = {k: v for k, v in files.items() if k != package}
    report = verify_bundle(rezip(bundle, tmp_path / "missing.zip", missing))
    assert any(package in p and "missing" in p for p in report.problems)

    extra = {**files, "packages/x/evil.exe": b"MZ"}
    report = verify_bundle(rezip(bundle, tmp_path / "extra.zip", extra))
    assert any("not in the manifest" in p and "evil.exe" in p for p in report.problems)

    forged = dict(files)
    forged[MANIFEST] = files[MANIFEST].replace(b'count="1"', b'count="2"', 1)
    report = verify_bundle(rezip(bundle, tmp_path / "forged.zip", forged))
    assert any("signature" in p for p in report.problems)

    other_keys = tmp_path / "other-keys"
    init_dev_keys(other_keys, "Someone else")
    stranger_path = other_keys / "gateway-cert.pem"
    stranger = stranger_path.read_bytes()
    report = verify_bundle(bundle, stranger)
    assert not report.ok and "does not verify" in report.problems[0]
    # a forger who changes a file, re-signs the manifest with his own key and ships his
    # certificate passes the bundle's own check: pinning the gateway certificate catches it
    forger = GatewaySigner.from_files(other_keys / "gateway-key.pem", stranger_path)
    root = etree.fromstring(files[MANIFEST])
    root.remove(root.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    forged = {**files, attachment: b"forged", CERTIFICATE: stranger}
    for path in (attachment, CERTIFICATE):
        el = root.find(f".//{{urn:x-gateway:archive-bundle:1}}File[@path='{path}']")
        el.set("sha256", hashlib.sha256(forged[path]).hexdigest())
        el.set("size", str(len(forged[path])))
    forged[MANIFEST] = forger.sign_receipt(etree.tostring(root))
    resigned = rezip(bundle, tmp_path / "resigned.zip", forged)
    assert verify_bundle(resigned).ok
    pinned = next(v for k, v in files.items() if k == CERTIFICATE)
    assert not verify_bundle(resigned, pinned).ok

    broken = tmp_path / "broken.zip"
    broken.write_bytes(bundle.read_bytes()[:-100])
    assert not verify_bundle(broken).ok
    assert not verify_bundle(tmp_path / "nothing.zip").ok


def test_bundle_members_are_plain_names_whatever_the_name_says(tmp_path):
    """Safe join: a name from the database can never put a member outside its folder."""
    from datetime import UTC, datetime

    from gateway.archive.bundle import BundleWriter, safe_join

    assert safe_join("packages/p1", "attachments", "Quyết định.doc") == (
        "packages/p1/attachments/Quyết định.doc"
    )
    writer = BundleWriter(
        tmp_path / "b.zip",
        bundle_id="b1",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        node_code="00.99.W00",
        selection={},
    )
    raw = b"<edXML/>"
    sha = hashlib.sha256(raw).hexdigest()
    for name in ("../../../../tmp/x.doc", "..", "a\\..\\..\\x.doc", "C:x.doc", "x\x01.doc"):
        with pytest.raises(ValueError, match="unsafe path"):
            writer.add_package(
                package_id="p1",
                raw=raw,
                sha256=sha,
                document_id=None,
                code=None,
                attachments=[(name, b"data")],
                metadata={},
            )
    writer.abort()
    assert not (tmp_path / "b.zip").exists()


async def test_export_of_a_stored_traversal_name_stays_inside_the_bundle(gw, tmp_path):
    """A package stored before names were checked: its attachment lands under attachments/."""
    from sqlalchemy.orm import undefer

    from gateway.packages.models import Package

    history = await seed(gw)
    original_id = history["original"]["package_id"]
    async with gw.db.sessionmaker() as s:
        row = await s.get(Package, original_id, options=[undefer(Package.raw)])
        raw = row.raw.replace(b"1896_QD-TTg_m_294779.doc", b"../../../../tmp/x.doc")
        row.raw, row.sha256 = raw, hashlib.sha256(raw).hexdigest()
        await s.commit()
    bundle = tmp_path / "out" / "g22.zip"
    await export_bundle(gw.app.state.settings, g22_selection(), bundle, actor="test")
    names = list(members(bundle))
    assert f"packages/{original_id}/attachments/x.doc" in names
    assert not [n for n in names if ".." in n or n.startswith("/")]
    target = tmp_path / "unpacked"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(target)
    assert not (tmp_path / "tmp").exists()
    assert verify_bundle(bundle).ok
