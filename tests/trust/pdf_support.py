"""Tiny PDFs for tests, signed with pyHanko using tests/trust/pki.py certificates."""

from __future__ import annotations

from io import BytesIO

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore


def tiny_pdf() -> bytes:
    """A one-page PDF (a 200×200 blank page)."""
    writer = PdfFileWriter()
    size = [generic.NumberObject(n) for n in (0, 0, 200, 200)]
    writer.insert_page(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Page"),
                generic.NameObject("/MediaBox"): generic.ArrayObject(size),
            }
        )
    )
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def sign_pdf(
    pdf: bytes, key: rsa.RSAPrivateKey, cert: x509.Certificate, chain: list[x509.Certificate]
) -> bytes:
    """Sign as an agency's văn thư would (a PAdES-style signature over the whole file)."""
    der_key = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = signers.SimpleSigner(
        signing_cert=_asn1(cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(der_key),
        cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in chain]),
    )
    out = signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf)),
        signers.PdfSignatureMetadata(field_name="ChuKyVanThu"),
        signer=signer,
    )
    return out.getvalue()
