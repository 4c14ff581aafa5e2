"""The cryptographic half of an enveloped XMLDSig check, on the tree in hand.

gateway.trust.verify has already checked the signature's shape (one Signature where it
belongs, one Reference URI="", the enveloped transform, accepted algorithms, nothing unsigned
inside it). This module only computes, on that same parsed tree, with no re-parse and no
re-serialisation: the SignedInfo's canonical form against SignatureValue (RSA PKCS#1 v1.5),
then the document's canonical form without the Signature against DigestValue. That is
signxml's order, so a forged SignedInfo is "signature invalid" and a changed document
"digest mismatch", as before. The canonical forms are streamed into the hash, never held.

Texts the reader moved out of the tree (gateway.edxml.reader keeps 25 MB base64 payloads
out of libxml2) are given as `moved`: each such element canonicalises with a one-off marker
as its text, and the hash writer splices the real text in its place, escaped as C14N escapes.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from base64 import b64decode
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.verifier import XMLVerifier

from gateway.edxml.codes import XMLDSIG_NAMESPACE

from .xmlsafe import new_parser

_DS = f"{{{XMLDSIG_NAMESPACE}}}"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_EXCLUSIVE = "http://www.w3.org/2001/10/xml-exc-c14n#"
_WITH_COMMENTS = "#WithComments"

_HASHES = {
    DigestAlgorithm.SHA1: "sha1",
    DigestAlgorithm.SHA256: "sha256",
    SignatureMethod.RSA_SHA1: "sha1",
    SignatureMethod.RSA_SHA256: "sha256",
}
_PREHASHED = {"sha1": hashes.SHA1, "sha256": hashes.SHA256}

Moved = Mapping[etree._Element, str]


class Malformed(ValueError):
    """The signature cannot be read (schema, base64, a KeyValue contradicting the cert)."""


class UnknownCanonicalization(ValueError):
    """SignedInfo names a canonicalization method that is not one of XMLDSig's."""


class BadSignature(ValueError):
    """SignatureValue does not verify over SignedInfo with the signer's key."""


class DigestMismatch(ValueError):
    """The document (less the signature) is not what the Reference digested."""


def counts_comments(signature: etree._Element) -> bool:
    """Does SignedInfo's canonical form include comments? Only then do comments inside it
    (which gateway.edxml's reader drops) change what was signed; the Reference URI=""
    excludes comments from the document's digest whatever its transforms say."""
    method = signature.find(f"{_DS}SignedInfo/{_DS}CanonicalizationMethod")
    return (method.get("Algorithm") or "").endswith(_WITH_COMMENTS) if method is not None else False


def check_signed_info(
    signature: etree._Element,
    key: rsa.RSAPublicKey,
    method: SignatureMethod,
    moved: Moved,
) -> None:
    """SignatureValue over the canonical SignedInfo, with the hash `method` declares."""
    _schema_valid(signature)
    signed_info = signature.find(f"{_DS}SignedInfo")
    c14n = signed_info.find(f"{_DS}CanonicalizationMethod")
    uri = c14n.get("Algorithm") if c14n is not None else None
    try:
        CanonicalizationMethod(uri)
    except ValueError:
        raise UnknownCanonicalization(f"{uri!r} is not a canonicalization method") from None
    value = _b64(signature.findtext(f"{_DS}SignatureValue") or "")
    name = _HASHES[method]
    digest = _canonical_hash(signed_info, name, uri, with_comments=None, moved=moved)
    try:
        key.verify(value, digest, padding.PKCS1v15(), utils.Prehashed(_PREHASHED[name]()))
    except InvalidSignature:
        raise BadSignature("Signature verification failed") from None
    _key_value_matches(signature, key)


def check_reference(
    root: etree._Element,
    signature: etree._Element,
    reference: etree._Element,
    digest_algorithm: DigestAlgorithm,
    moved: Moved,
    *,
    keep: io.BytesIO | None = None,
) -> None:
    """DigestValue over the document without the signature (enveloped transform), in the
    Reference's canonical form. `keep` also receives the canonical bytes (signed_xml).

    Comments are never digested: URI="" names the document without its comments (XMLDSig
    4.4.3.3), even under a #WithComments transform, and gateway.edxml's tree has none. signxml
    digests them under #WithComments, so a package signed that way with comments in it was
    valid before issue 14 and is a digest mismatch now."""
    algorithms = [
        t.get("Algorithm") or ""
        for t in reference.iterfind(f"{_DS}Transforms/{_DS}Transform")
        if t.get("Algorithm") != ENVELOPED
    ]
    if len(algorithms) > 1:
        raise Malformed(f"{len(algorithms)} canonicalization transforms, expected at most 1")
    # no canonicalization transform: XMLDSig's default, inclusive C14N (signxml's 1.1 default
    # is computed by lxml as 1.0 too)
    uri = algorithms[0] if algorithms else "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    expected = _b64(reference.findtext(f"{_DS}DigestValue") or "")
    with _detached(signature):
        actual = _canonical_hash(
            root, _HASHES[digest_algorithm], uri, with_comments=False, moved=moved, keep=keep
        )
    if not hmac.compare_digest(actual, expected):
        raise DigestMismatch(f"Digest mismatch for reference 0 ({reference.get('URI')})")


@contextmanager
def _detached(signature: etree._Element) -> Iterator[None]:
    """The enveloped transform: the document without the Signature element, its tail text
    staying where it was (lxml moves an element's tail with it). Put back exactly after."""
    parent = signature.getparent()
    index = parent.index(signature)
    tail = signature.tail
    previous = signature.getprevious()
    holder_text = previous.tail if previous is not None else parent.text
    if tail:
        joined = (holder_text or "") + tail
        if previous is not None:
            previous.tail = joined
        else:
            parent.text = joined
    parent.remove(signature)
    try:
        yield
    finally:
        parent.insert(index, signature)
        signature.tail = tail
        if previous is not None:
            previous.tail = holder_text
        else:
            parent.text = holder_text


def _canonical_hash(
    element: etree._Element,
    hash_name: str,
    algorithm: str,
    *,
    with_comments: bool | None,
    moved: Moved,
    keep: io.BytesIO | None = None,
) -> bytes:
    """Hash of `element`'s canonical form (C14N 1.0 or exclusive, per `algorithm`), streamed.
    `with_comments` None: as the algorithm says."""
    hasher = hashlib.new(hash_name)
    marker = f"gwmoved{secrets.token_hex(16)}"
    inside = [e for e in element.iter() if e in moved]  # document order = canonical order
    writer = _SplicingWriter(hasher, marker.encode(), [moved[e] for e in inside], keep)
    for e in inside:
        e.text = marker
    options = {
        "exclusive": algorithm.startswith(_EXCLUSIVE),
        "with_comments": algorithm.endswith(_WITH_COMMENTS)
        if with_comments is None
        else with_comments,
    }
    try:
        if element.getparent() is not None:  # SignedInfo: small, canonicalised as signxml does
            writer.write(etree.tostring(element, method="c14n", **options))
        elif element.getprevious() is None and element.getnext() is None:
            etree.ElementTree(element).write_c14n(writer, **options)  # streamed
        else:
            # Comments or PIs beside the root (never in gateway.edxml's tree, which drops
            # them): the root element alone, as signxml has always digested it. The tree's
            # write_c14n would add them; lxml's element C14N puts a stray xmlns="" on
            # unqualified elements under inclusive C14N; so re-read the element's own bytes.
            alone = etree.fromstring(etree.tostring(element), parser=new_parser())
            writer.write(etree.tostring(alone, method="c14n", **options))
    finally:
        for e in inside:
            e.text = None
    writer.close()
    return hasher.digest()


_C14N_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_CHUNK = 1 << 20


class _SplicingWriter:
    """A file for lxml's write_c14n: feeds the hash, and puts each moved text (escaped as
    C14N escapes text) where its marker is. Keeps len(marker)-1 bytes back, as a marker may
    be split between two writes."""

    def __init__(self, hasher, marker: bytes, texts: list[str], keep: io.BytesIO | None):
        self._hasher, self._marker, self._keep = hasher, marker, keep
        self._texts = iter(texts)
        self._pending = b""

    def write(self, data: bytes) -> None:
        pending = self._pending + data
        while (at := pending.find(self._marker)) >= 0:
            self._feed(pending[:at])
            text = next(self._texts)
            for start in range(0, len(text), _CHUNK):
                self._feed(text[start : start + _CHUNK].translate(_C14N_TEXT).encode())
            pending = pending[at + len(self._marker) :]
        hold = len(self._marker) - 1
        self._feed(pending[:-hold])
        self._pending = pending[-hold:]

    def close(self) -> None:
        self._feed(self._pending)
        self._pending = b""

    def _feed(self, data: bytes) -> None:
        if data:
            self._hasher.update(data)
            if self._keep is not None:
                self._keep.write(data)


def _schema_valid(signature: etree._Element) -> None:
    """The XMLDSig schema, as signxml checks it (its bundled copy)."""
    try:
        XMLVerifier().validate_schema(signature)
    except etree.DocumentInvalid as exc:
        raise Malformed(str(exc)) from None


def _key_value_matches(signature: etree._Element, key: rsa.RSAPublicKey) -> None:
    """A KeyValue next to the certificate must name the same key (signxml refuses it too)."""
    key_value = signature.find(f"{_DS}KeyInfo/{_DS}KeyValue")
    if key_value is None:
        return
    rsa_value = key_value.find(f"{_DS}RSAKeyValue")
    numbers = key.public_numbers()
    if rsa_value is not None:
        modulus = int.from_bytes(_b64(rsa_value.findtext(f"{_DS}Modulus") or ""), "big")
        exponent = int.from_bytes(_b64(rsa_value.findtext(f"{_DS}Exponent") or ""), "big")
        if (modulus, exponent) == (numbers.n, numbers.e):
            return
    raise Malformed("Both X509Data and KeyValue found and they represent different public keys")


def _b64(text: str) -> bytes:
    try:
        return b64decode(text)
    except ValueError as exc:  # binascii.Error
        raise Malformed(f"bad base64: {exc}") from None
