"""The intake signature step: classification, policy, and reading only what is signed."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from gateway.edxml import Limits, parse_package
from gateway.packages.signatures import (
    SignatureRejected,
    SignatureRequired,
    TrustSignatureCheck,
    policy_key,
)
from gateway.trust import PolicyMode, SignaturePolicy, TrustStore
from trust.pki import Pki, agency_sign, build_pki, strip_signatures

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return build_pki()


@pytest.fixture(scope="module")
def signed(pki: Pki) -> bytes:
    unsigned = strip_signatures((SAMPLES / "edoc_new.edxml").read_bytes())
    return agency_sign(unsigned, pki.agency_key, [pki.agency, pki.intermediate])


def check(pki: Pki, mode: PolicyMode = PolicyMode.WARN, **overrides: str) -> TrustSignatureCheck:
    return TrustSignatureCheck(
        store=TrustStore([pki.root, pki.intermediate], [pki.crl]),
        policy=SignaturePolicy(mode=mode, by_document_type=overrides),
        limits=Limits(),
        limiter=anyio.CapacityLimiter(2),
    )


async def test_valid_signature_is_recorded(pki: Pki, signed: bytes) -> None:
    verdict = await check(pki, PolicyMode.REQUIRE)(parse_package(signed), signed)
    assert verdict.signature_class == "signed-valid"
    assert not verdict.reference_only
    assert verdict.details["signer"]["subject"]


async def test_placeholder_is_accepted_under_warn_and_refused_under_require(pki: Pki) -> None:
    raw = (SAMPLES / "edoc_new.edxml").read_bytes()
    package = parse_package(raw)
    verdict = await check(pki)(package, raw)
    assert (verdict.signature_class, verdict.reference_only) == ("placeholder", True)
    with pytest.raises(SignatureRequired) as caught:
        await check(pki, PolicyMode.REQUIRE)(package, raw)
    assert caught.value.details["class"] == "placeholder"


async def test_per_document_type_override(pki: Pki) -> None:
    raw = (SAMPLES / "edoc_new.edxml").read_bytes()
    package = parse_package(raw)
    assert policy_key(package) == "Công văn"
    with pytest.raises(SignatureRequired):
        await check(pki, PolicyMode.WARN, **{"Công văn": "require"})(package, raw)
    status = (SAMPLES / "status.edxml").read_bytes()
    verdict = await check(pki, PolicyMode.REQUIRE, status="warn")(parse_package(status), status)
    assert verdict.signature_class == "unsigned"


async def test_tampered_subject_is_always_refused(pki: Pki, signed: bytes) -> None:
    tampered = signed.replace("liên thông phần mềm".encode(), "liên thông phần cứng".encode(), 1)
    with pytest.raises(SignatureRejected) as caught:
        await check(pki)(parse_package(tampered), tampered)
    assert caught.value.code == "SIGNATURE_INVALID"
    assert caught.value.details["reason"] == "SIGNATURE_DIGEST_MISMATCH"


async def test_package_that_differs_from_the_signed_content_is_refused(
    pki: Pki, signed: bytes
) -> None:
    # the model handed to the step was read from other bytes than those verified
    other = parse_package((SAMPLES / "edoc_update.edxml").read_bytes())
    with pytest.raises(SignatureRejected) as caught:
        await check(pki)(other, signed)
    assert caught.value.details["reason"] == "SIGNATURE_WRAPPING"
