"""A throw-away PKI for signature tests: root → intermediate → agency certificates, plus the
broken ones (expired, not yet valid, wrong key usage, unknown root, revoked via CRL).

RSA key generation is the slow part, so `build_pki` makes five keys and reuses them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

from gateway.edxml.codes import NAMESPACE, XMLDSIG_NAMESPACE
from gateway.trust.xmlsafe import new_parser

ED = f"{{{NAMESPACE}}}"
DS = f"{{{XMLDSIG_NAMESPACE}}}"
HEADER = f"./{ED}edXMLEnvelope/{ED}edXMLHeader"
DAY = timedelta(days=1)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ban Cơ yếu Chính phủ (thử nghiệm)"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def usage(*, signing: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=signing,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def issue(
    subject: str,
    public_key: rsa.RSAPublicKey,
    issuer: x509.Certificate | None,
    issuer_key: rsa.RSAPrivateKey,
    *,
    not_before: datetime,
    not_after: datetime,
    ca: bool = False,
    key_usage: x509.KeyUsage | None = None,
) -> x509.Certificate:
    """A certificate for `subject`, self-signed when `issuer` is None."""
    subject_name = name(subject)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_name)
        .issuer_name(issuer.subject if issuer else subject_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(key_usage or usage(signing=not ca, ca=ca), critical=True)
    )
    return builder.sign(issuer_key, hashes.SHA256())


_SHA256_WITH_RSA = bytes.fromhex("2a864886f70d01010b")  # OID 1.2.840.113549.1.1.11
_SHA1_WITH_RSA = bytes.fromhex("2a864886f70d010105")  # OID 1.2.840.113549.1.1.5


def resign_sha1(cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey) -> x509.Certificate:
    """The same certificate signed with sha1WithRSA, which cryptography no longer produces.

    Both OIDs have the same length and the RSA signature keeps its size, so swapping the OID
    (in the TBS and in the outer AlgorithmIdentifier) and the signature bytes keeps the DER valid.
    """
    der = cert.public_bytes(serialization.Encoding.DER)
    assert der.count(_SHA256_WITH_RSA) == 2
    tbs = cert.tbs_certificate_bytes.replace(_SHA256_WITH_RSA, _SHA1_WITH_RSA)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 -- on purpose
    der = der.replace(_SHA256_WITH_RSA, _SHA1_WITH_RSA)
    return x509.load_der_x509_certificate(der[: -len(signature)] + signature)


@dataclass
class Pki:
    now: datetime
    root_key: rsa.RSAPrivateKey
    root: x509.Certificate
    intermediate_key: rsa.RSAPrivateKey
    intermediate: x509.Certificate
    agency_key: rsa.RSAPrivateKey  # every agency certificate below certifies this key
    agency: x509.Certificate
    agency_sha1: x509.Certificate  # issued with sha1WithRSA, as older Vietnamese CAs do
    expired: x509.Certificate
    not_yet_valid: x509.Certificate
    wrong_usage: x509.Certificate  # keyCertSign only
    unknown_root: x509.Certificate
    unknown_agency: x509.Certificate
    revoked: x509.Certificate
    revoked_at: datetime
    crl: x509.CertificateRevocationList
    gateway_key: rsa.RSAPrivateKey

    def bundle_pem(self, *, with_intermediate: bool = True) -> bytes:
        certs = [self.root, self.intermediate] if with_intermediate else [self.root]
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def build_pki(now: datetime | None = None) -> Pki:
    now = now or datetime.now(UTC)
    root_key, intermediate_key, agency_key, other_key, gateway_key = (new_key() for _ in range(5))
    long = {"not_before": now - 3650 * DAY, "not_after": now + 3650 * DAY}
    short = {"not_before": now - 365 * DAY, "not_after": now + 365 * DAY}

    root = issue("Root CA thử nghiệm", root_key.public_key(), None, root_key, ca=True, **long)
    intermediate = issue(
        "CA cấp 2 thử nghiệm", intermediate_key.public_key(), root, root_key, ca=True, **long
    )

    def agency_cert(cn: str, **overrides) -> x509.Certificate:
        args = {**short, **overrides}
        return issue(cn, agency_key.public_key(), intermediate, intermediate_key, **args)

    unknown_root = issue("Root CA lạ", other_key.public_key(), None, other_key, ca=True, **long)
    revoked = agency_cert("Văn thư đã thu hồi")
    revoked_at = now - 10 * DAY
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(intermediate.subject)
        .last_update(now - DAY)
        .next_update(now + 7 * DAY)
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(revoked.serial_number)
            .revocation_date(revoked_at)
            .build()
        )
        .sign(intermediate_key, hashes.SHA256())
    )
    return Pki(
        now=now,
        root_key=root_key,
        root=root,
        intermediate_key=intermediate_key,
        intermediate=intermediate,
        agency_key=agency_key,
        agency=agency_cert("UBND xã Hòa Tiến"),
        agency_sha1=resign_sha1(agency_cert("UBND xã Hòa Sơn"), intermediate_key),
        expired=agency_cert("Hết hạn", not_before=now - 400 * DAY, not_after=now - 30 * DAY),
        not_yet_valid=agency_cert("Chưa hiệu lực", not_before=now + 30 * DAY),
        wrong_usage=agency_cert("Sai mục đích", key_usage=usage(ca=True)),
        unknown_root=unknown_root,
        unknown_agency=issue(
            "Cơ quan lạ", agency_key.public_key(), unknown_root, other_key, **short
        ),
        revoked=revoked,
        revoked_at=revoked_at,
        crl=crl,
        gateway_key=gateway_key,
    )


class _AnySigner(XMLSigner):
    """signxml's signer, allowing SHA-1 (agencies still use it) and huge text nodes."""

    def check_deprecated_methods(self) -> None:
        pass

    @property
    def parser(self) -> etree.XMLParser:
        return new_parser()


def strip_signatures(xml: bytes) -> bytes:
    """The package without its header Signature/DigitalSignature (e.g. the SDK placeholder)."""
    root = etree.fromstring(xml, parser=new_parser())
    header = root.find(HEADER)
    for child in list(header):
        if etree.QName(child).localname in {"Signature", "DigitalSignature"}:
            header.remove(child)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def agency_sign(
    xml: bytes,
    key: rsa.RSAPrivateKey,
    certs: list[x509.Certificate],
    *,
    algorithm: str = "sha256",
    reference_uri: str | None = None,
) -> bytes:
    """Sign as an agency would: enveloped XMLDSig as the last child of edXMLHeader."""
    root = etree.fromstring(xml, parser=new_parser())
    header = root.find(HEADER)
    etree.SubElement(header, f"{DS}Signature", Id="placeholder", nsmap={"ds": XMLDSIG_NAMESPACE})
    signer = _AnySigner(
        signature_algorithm=f"rsa-{algorithm}",
        digest_algorithm=algorithm,
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    signed = signer.sign(root, key=key, cert=certs, reference_uri=reference_uri)
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
