"""Intake parses a signed package once (issue 14): validation's tree is the one the signature
is verified on, and the package is not read again from the signed bytes."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from conftest import sample_bytes
from trust.pki import Pki, agency_sign, build_pki, strip_signatures

A80, H17 = "000.00.00.A80", "28.22.H17"
SUBJECT = "liên thông phần mềm".encode()  # in the package, in nothing else intake parses
PARSERS = ("fromstring", "XML", "parse", "iterparse")


@pytest.fixture(scope="module")
def pki() -> Pki:
    return build_pki()


@pytest.fixture
def bundle(pki: Pki, tmp_path: Path) -> Path:
    path = tmp_path / "ca-bundle.pem"
    path.write_bytes(pki.bundle_pem())
    return path


def _counting(name: str, original: Callable[..., Any], seen: list[str]) -> Callable[..., Any]:
    def parse(source: Any, *args: Any, **kwargs: Any) -> Any:
        data = source.getvalue() if isinstance(source, io.BytesIO) else source
        if isinstance(data, str):
            data = data.encode()
        if isinstance(data, bytes) and SUBJECT in data:
            seen.append(name)
        return original(source, *args, **kwargs)

    return parse


async def test_a_signed_package_is_parsed_once_per_intake(
    make_gateway, bundle, pki, monkeypatch
) -> None:
    unsigned = strip_signatures(sample_bytes("edoc_new.edxml"))
    signed = agency_sign(unsigned, pki.agency_key, [pki.agency, pki.intermediate])
    gw = await make_gateway(trust_bundle=bundle)
    keys = await gw.setup(A80, H17)
    seen: list[str] = []
    for name in PARSERS:
        monkeypatch.setattr(etree, name, _counting(name, getattr(etree, name), seen))

    r = await gw.post_package(signed, keys[A80])

    assert r.status_code == 202, r.text
    assert r.json()["signature_class"] == "signed-valid"
    assert seen == ["iterparse"]  # gateway.edxml.reader, and nothing after it
