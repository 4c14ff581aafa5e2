"""The gateway's own signature on what it issues: status packages and receipts.

Signatures are enveloped XMLDSig, RSA-SHA256 over a SHA-256 digest of the whole document
(Reference URI=""), exclusive c14n, the certificate in KeyInfo/X509Data. Any plain XMLDSig
verifier given the published certificate can check them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner

from gateway.edxml.codes import NAMESPACE, XMLDSIG_NAMESPACE

from .certs import CertificateHealth, load_certificates, to_pem
from .xmlsafe import new_parser, parse_hardened

_DS = f"{{{XMLDSIG_NAMESPACE}}}"
_ED = f"{{{NAMESPACE}}}"


class _Signer(XMLSigner):
    """signxml re-parses the document while signing; its default parser caps text nodes at
    10 MB, too small for packages with large attachments."""

    @property
    def parser(self) -> etree.XMLParser:
        return new_parser()


class GatewaySigner:
    def __init__(
        self,
        key: rsa.RSAPrivateKey,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
    ):
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the gateway key must be an RSA private key")
        if key.public_key().public_numbers() != certificate.public_key().public_numbers():
            raise ValueError("the gateway key does not match its certificate")
        self.key = key
        self.certificate = certificate
        self.chain = tuple(chain)

    @classmethod
    def from_files(
        cls,
        key_path: Path | str,
        cert_path: Path | str,
        chain_path: Path | str | None = None,
        password: bytes | None = None,
    ) -> GatewaySigner:
        """`cert_path` may hold the certificate followed by its chain; `chain_path` adds more."""
        key = load_pem_private_key(Path(key_path).read_bytes(), password=password)
        certificate, *chain = load_certificates(Path(cert_path).read_bytes())
        if chain_path is not None:
            chain += load_certificates(Path(chain_path).read_bytes())
        return cls(key, certificate, chain)  # type: ignore[arg-type]

    def certificate_pem(self) -> str:
        """The gateway certificate alone, as published at the well-known path for pinning."""
        return to_pem(self.certificate)

    def chain_pem(self) -> str:
        """Certificate followed by its issuers, for agencies that validate up to a CA."""
        return "".join(to_pem(c) for c in (self.certificate, *self.chain))

    def health(self, now: datetime) -> CertificateHealth:
        return CertificateHealth.of(self.certificate, now)

    def sign_edxml(self, xml: bytes) -> bytes:
        """Sign an edXML package (document or status) with the signature as the last child of
        edXMLHeader. The SDK's unverifiable placeholders there are dropped first."""
        root = parse_hardened(xml)
        if root.tag != f"{_ED}edXML":
            raise ValueError("not an edXML package")
        header = root.find(f"./{_ED}edXMLEnvelope/{_ED}edXMLHeader")
        if header is None:
            raise ValueError("the package has no edXMLEnvelope/edXMLHeader")
        _refuse_existing_signature(root)
        for child in list(header.iterchildren(tag=etree.Element)):
            if etree.QName(child).localname in {"Signature", "DigitalSignature"}:
                header.remove(child)  # placeholder (non-xmldsig): its tail whitespace goes too
        etree.SubElement(
            header, f"{_DS}Signature", Id="placeholder", nsmap={"ds": XMLDSIG_NAMESPACE}
        )
        return self._sign(root)

    def sign_receipt(self, xml: bytes) -> bytes:
        """Sign any XML document with the signature appended to its root element."""
        root = parse_hardened(xml)
        _refuse_existing_signature(root)
        return self._sign(root)

    def _sign(self, root: etree._Element) -> bytes:
        signer = _Signer(
            signature_algorithm=SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        signed = signer.sign(
            root, key=self.key, cert=[self.certificate, *self.chain], reference_uri=None
        )
        return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def _refuse_existing_signature(root: etree._Element) -> None:
    # A verifier accepts exactly one signature covering everything; a second one would make
    # the output unverifiable by our own rules (co-signing is not supported).
    if next(root.iter(f"{_DS}Signature"), None) is not None:
        raise ValueError("the document already carries an XML signature")
