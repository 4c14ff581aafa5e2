"""The archive bundle: one `.zip` file, self-contained and verifiable offline.

    manifest.xml                       every file below with its SHA-256 and size, signed by
                                       the gateway (enveloped XMLDSig, RSA-SHA256, certificate
                                       in KeyInfo)
    gateway-certificate.pem            the gateway's certificate (compare its fingerprint with
                                       the one the gateway publishes, or pin it)
    README.txt                         what the bundle is and how to check it
    packages/<package_id>/package.edxml      the package bytes exactly as received and stored
    packages/<package_id>/metadata.json      the metadata record and the full timeline
    packages/<package_id>/attachments/<file> the attached files, unwrapped from the SDK zip

`verify_bundle` recomputes every hash, refuses files that are missing, extra or duplicated,
and checks the manifest's signature with the bundled certificate or a pinned one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from lxml import etree
from signxml import InvalidInput, InvalidSignature, SignatureConfiguration, XMLVerifier

from .. import __version__
from ..cli_lang import say
from ..trust import GatewaySigner
from ..trust.certs import fingerprint
from ..trust.xmlsafe import UnsafeXmlError, new_parser, parse_hardened

NS = "urn:x-gateway:archive-bundle:1"
MANIFEST = "manifest.xml"
CERTIFICATE = "gateway-certificate.pem"
README = "README.txt"
_E = f"{{{NS}}}"
_CHUNK = 1024 * 1024
_MAX_MANIFEST = 256 * 1024 * 1024
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_file_name(name: str, taken: set[str]) -> str:
    """A file name safe on any file system, unique among `taken` (which it joins)."""
    base = unicodedata.normalize("NFC", posixpath.basename(name.replace("\\", "/")))
    base = _UNSAFE.sub("_", base).strip(" .") or "tep-dinh-kem"
    if len(base.encode()) > 180:
        stem, dot, ext = base.rpartition(".")
        ext = ext[:16] if dot else ""
        base = stem.encode()[:160].decode("utf-8", "ignore") + (f".{ext}" if ext else "")
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        stem, dot, ext = base.rpartition(".")
        candidate = f"{stem}-{n}.{ext}" if dot and stem else f"{base}-{n}"
    taken.add(candidate.lower())
    return candidate


def safe_join(*parts: str) -> str:
    """A member path made of plain names only: whoever unpacks the bundle writes inside its
    own folder, whatever a name in the database says (`..`, `/`, `\\`, a drive, controls)."""
    for part in parts:
        for segment in part.split("/"):
            if (
                segment in ("", ".", "..")
                or "\\" in segment
                or ":" in segment
                or _CONTROL.search(segment)
            ):
                raise ValueError(f"unsafe path in the bundle: {'/'.join(parts)!r}")
    return "/".join(parts)


@dataclass(frozen=True)
class BundleFile:
    path: str
    sha256: str
    size: int
    role: str  # package | metadata | attachment | readme | certificate
    package_id: str | None = None


@dataclass(frozen=True)
class BundlePackage:
    id: str
    sha256: str
    size: int
    document_id: str | None
    code: str | None


class BundleWriter:
    """Writes a bundle to `<path>.partial`, renamed to `path` when `finish` signs it."""

    def __init__(
        self,
        path: Path,
        *,
        bundle_id: str,
        created_at: datetime,
        node_code: str,
        selection: dict[str, Any],
    ):
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.bundle_id = bundle_id
        self.created_at = created_at.astimezone(UTC)
        self.node_code = node_code
        self.selection = selection
        self.files: list[BundleFile] = []
        self.packages: list[BundlePackage] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._zip = zipfile.ZipFile(
            self.partial, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True
        )
        self._stamp = self.created_at.timetuple()[:6]

    def _write(self, path: str, data: bytes) -> None:
        info = zipfile.ZipInfo(safe_join(path), date_time=self._stamp)  # type: ignore[arg-type]
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        self._zip.writestr(info, data)

    def add_file(self, path: str, data: bytes, role: str, package_id: str | None = None) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self._write(path, data)
        self.files.append(BundleFile(path, sha, len(data), role, package_id))
        return sha

    def add_package(
        self,
        *,
        package_id: str,
        raw: bytes,
        sha256: str,
        document_id: str | None,
        code: str | None,
        attachments: list[tuple[str, bytes]],
        metadata: dict[str, Any],
    ) -> None:
        """One document: its bytes, its attachments (already given safe, unique names) and
        its metadata record (which gets the attachment hashes)."""
        base = f"packages/{package_id}"
        if self.add_file(f"{base}/package.edxml", raw, "package", package_id) != sha256:
            raise ValueError(f"package {package_id}: the bytes do not match their SHA-256")
        files = metadata.setdefault("files", {})
        files["package"] = {"path": "package.edxml", "sha256": sha256, "size": len(raw)}
        by_name = {a.get("file"): a for a in metadata.get("attachments", [])}
        for name, data in attachments:
            member = safe_join(base, "attachments", name)
            sha = self.add_file(member, data, "attachment", package_id)
            entry = by_name.get(f"attachments/{name}")
            if entry is not None:
                entry.update(sha256=sha, size=len(data))
        body = json.dumps(metadata, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
        self.add_file(f"{base}/metadata.json", body.encode("utf-8"), "metadata", package_id)
        self.packages.append(BundlePackage(package_id, sha256, len(raw), document_id, code))

    def manifest(self, signer: GatewaySigner) -> bytes:
        cert_sha = fingerprint(signer.certificate)
        root = etree.Element(f"{_E}ArchiveManifest", nsmap={None: NS}, formatVersion="1")
        etree.SubElement(root, f"{_E}BundleId").text = self.bundle_id
        etree.SubElement(root, f"{_E}CreatedAt").text = self.created_at.isoformat()
        gateway = etree.SubElement(root, f"{_E}Gateway")
        etree.SubElement(gateway, f"{_E}NodeCode").text = self.node_code
        etree.SubElement(gateway, f"{_E}Version").text = __version__
        etree.SubElement(gateway, f"{_E}CertificateSha256").text = cert_sha
        selection = etree.SubElement(root, f"{_E}Selection")
        for key, value in self.selection.items():
            for item in value if isinstance(value, list) else [value]:
                if item is not None:
                    etree.SubElement(selection, f"{_E}Criterion", name=key).text = str(item)
        packages = etree.SubElement(root, f"{_E}Packages", count=str(len(self.packages)))
        for p in self.packages:
            el = etree.SubElement(packages, f"{_E}Package", id=p.id, sha256=p.sha256,
                                  size=str(p.size))  # fmt: skip
            if p.document_id is not None:
                el.set("documentId", p.document_id)
            if p.code is not None:
                el.set("code", p.code)
        files = etree.SubElement(root, f"{_E}Files", count=str(len(self.files)))
        for f in self.files:
            el = etree.SubElement(files, f"{_E}File", path=f.path, sha256=f.sha256,
                                  size=str(f.size), role=f.role)  # fmt: skip
            if f.package_id:
                el.set("package", f.package_id)
        xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return signer.sign_receipt(xml)

    def finish(self, signer: GatewaySigner) -> tuple[Path, str]:
        """Add README and certificate, sign and write the manifest, close and rename.
        Returns the bundle's path and the SHA-256 of the whole file."""
        self.add_file(README, _readme(self).encode("utf-8"), "readme")
        self.add_file(CERTIFICATE, signer.chain_pem().encode("ascii"), "certificate")
        self._write(MANIFEST, self.manifest(signer))
        self._zip.close()
        with self.partial.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(self.partial, self.path)
        return self.path, _sha256_file(self.path)

    def abort(self) -> None:
        try:
            self._zip.close()
        finally:
            self.partial.unlink(missing_ok=True)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _readme(writer: BundleWriter) -> str:
    return (
        "Gói chuyển giao lưu trữ — trục liên thông văn bản (QCVN 102:2016)\n"
        "Archive hand-off bundle of the provincial document-interchange gateway\n\n"
        f"Bundle: {writer.bundle_id}\nGateway node: {writer.node_code}\n"
        f"Created (UTC): {writer.created_at.isoformat()}\nDocuments: {len(writer.packages)}\n\n"
        "manifest.xml lists every file with its SHA-256 and size and is signed (XMLDSig,\n"
        "RSA-SHA256) by the gateway; gateway-certificate.pem is its certificate. Check with:\n"
        "    gateway archive verify <bundle.zip> [--cert <pinned-gateway-certificate.pem>]\n"
        "or any XMLDSig verifier plus sha256sum. packages/<id>/package.edxml are the packages\n"
        "exactly as received; metadata.json holds the record and timeline of each document;\n"
        "attachments/ holds the attached files as their senders made them.\n"
    )


# ----------------------------------------------------------------------------- verify
@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    bundle_id: str | None = None
    created_at: str | None = None
    packages: int = 0
    files: int = 0
    signer: str | None = None
    signer_sha256: str | None = None
    pinned: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle(path: Path, cert_pem: bytes | None = None) -> VerifyReport:
    """Check a bundle offline: manifest signature, then every file's size and SHA-256."""
    report = VerifyReport(pinned=cert_pem is not None)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        report.problems.append(
            say(f"không phải tệp zip đọc được: {exc}", f"not a readable zip file: {exc}")
        )
        return report
    with archive:
        names = [i.filename for i in archive.infolist() if not i.is_dir()]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            report.problems.append(
                say(
                    f"mục bị lặp (bị sửa?): {', '.join(duplicated)}",
                    f"duplicated entries (tampering?): {', '.join(duplicated)}",
                )
            )
            return report
        if MANIFEST not in names:
            report.problems.append(say(f"thiếu {MANIFEST}", f"{MANIFEST} is missing"))
            return report
        if archive.getinfo(MANIFEST).file_size > _MAX_MANIFEST:
            report.problems.append(
                say(f"{MANIFEST} lớn bất thường", f"{MANIFEST} is implausibly large")
            )
            return report
        manifest = archive.read(MANIFEST)
        if cert_pem is None:
            if CERTIFICATE not in names:
                report.problems.append(
                    say(
                        f"thiếu {CERTIFICATE} và không có --cert",
                        f"{CERTIFICATE} is missing and no --cert was given",
                    )
                )
                return report
            cert_pem = archive.read(CERTIFICATE)
        signed = _verify_signature(manifest, cert_pem, report)
        if signed is None:
            return report
        listed = _check_files(archive, signed, report)
        unlisted = sorted(set(names) - listed - {MANIFEST})
        if unlisted:
            report.problems.append(
                say(
                    f"tệp không có trong bản kê: {', '.join(unlisted)}",
                    f"files not in the manifest: {', '.join(unlisted)}",
                )
            )
    return report


def _verify_signature(
    manifest: bytes, cert_pem: bytes, report: VerifyReport
) -> etree._Element | None:
    try:
        certificate = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        report.problems.append(
            say(
                f"chứng thư không phải dạng PEM: {exc}",
                f"the certificate is not a PEM certificate: {exc}",
            )
        )
        return None
    report.signer = certificate.subject.rfc4514_string()
    report.signer_sha256 = fingerprint(certificate)
    try:
        claimed = parse_hardened(manifest).findtext(f"{_E}CreatedAt") or ""
        created = datetime.fromisoformat(claimed)
    except UnsafeXmlError as exc:
        report.problems.append(
            say(
                f"{MANIFEST} không phải XML chấp nhận được: {exc}",
                f"{MANIFEST} is not acceptable XML: {exc}",
            )
        )
        return None
    except ValueError:
        report.problems.append(
            say(f"{MANIFEST} không có CreatedAt hợp lệ", f"{MANIFEST} has no valid CreatedAt")
        )
        return None
    # the certificate must have been valid when the bundle was made (an archive checks it
    # years later); CreatedAt is compared with the signed copy below
    config = SignatureConfiguration(
        require_x509=True,
        expect_references=1,
        verification_time=created if created.tzinfo else created.replace(tzinfo=UTC),
    )
    try:
        result = XMLVerifier().verify(
            manifest, x509_cert=certificate, parser=new_parser(), expect_config=config
        )
    except (InvalidSignature, InvalidInput) as exc:
        report.problems.append(
            say(
                f"chữ ký bản kê không khớp chứng thư {report.signer} "
                f"(SHA-256 {report.signer_sha256}): {exc}",
                f"the manifest signature does not verify with the certificate {report.signer} "
                f"(SHA-256 {report.signer_sha256}): {exc}",
            )
        )
        return None
    except Exception as exc:  # signxml raises assorted errors on garbage
        report.problems.append(
            say(
                f"không kiểm được chữ ký bản kê: {exc}",
                f"the manifest signature cannot be checked: {exc}",
            )
        )
        return None
    signed = result.signed_xml
    if signed is None or signed.tag != f"{_E}ArchiveManifest":
        report.problems.append(
            say("chữ ký không bao trùm bản kê", "the signature does not cover the manifest")
        )
        return None
    if signed.findtext(f"{_E}CreatedAt") != claimed:
        report.problems.append(
            say(
                "CreatedAt đã ký khác CreatedAt đọc trước khi kiểm",
                "the signed CreatedAt differs from the one read before checking",
            )
        )
        return None
    report.bundle_id = signed.findtext(f"{_E}BundleId")
    report.created_at = claimed
    return signed


def _check_files(
    archive: zipfile.ZipFile, signed: etree._Element, report: VerifyReport
) -> set[str]:
    """Compare every listed file with the zip (only what the signature covers is read)."""
    listed: set[str] = set()
    hashes_by_path: dict[str, str] = {}
    for el in signed.iterfind(f"{_E}Files/{_E}File"):
        path, expected, size = el.get("path") or "", el.get("sha256"), el.get("size")
        listed.add(path)
        report.files += 1
        try:
            info = archive.getinfo(path)
        except KeyError:
            report.problems.append(
                say(
                    f"{path}: có trong bản kê nhưng thiếu tệp",
                    f"{path}: listed in the manifest but missing",
                )
            )
            continue
        digest, count = hashlib.sha256(), 0
        try:
            with archive.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    count += len(chunk)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            report.problems.append(
                say(f"{path}: không đọc được ({exc})", f"{path}: unreadable ({exc})")
            )
            continue
        hashes_by_path[path] = digest.hexdigest()
        if str(count) != size:
            report.problems.append(
                say(
                    f"{path}: kích thước {count}, bản kê ghi {size}",
                    f"{path}: size {count}, the manifest says {size}",
                )
            )
        if digest.hexdigest() != expected:
            report.problems.append(
                say(
                    f"{path}: SHA-256 {digest.hexdigest()} không khớp bản kê ({expected})",
                    f"{path}: SHA-256 {digest.hexdigest()} does not match the manifest "
                    f"({expected})",
                )
            )
    for el in signed.iterfind(f"{_E}Packages/{_E}Package"):
        report.packages += 1
        path = f"packages/{el.get('id')}/package.edxml"
        if path not in listed:
            report.problems.append(
                say(
                    f"gói {el.get('id')}: {path} không có trong bản kê",
                    f"package {el.get('id')}: {path} is not listed",
                )
            )
        elif hashes_by_path.get(path) not in (None, el.get("sha256")):
            report.problems.append(
                say(
                    f"gói {el.get('id')}: nội dung khác SHA-256 ghi lúc tiếp nhận",
                    f"package {el.get('id')}: bytes differ from the SHA-256 recorded at intake",
                )
            )
    return listed


def read_json(archive_path: Path, member: str) -> Any:
    """A JSON member of a bundle (for tests and tools)."""
    with zipfile.ZipFile(archive_path) as archive:
        return json.load(io.BytesIO(archive.read(member)))
