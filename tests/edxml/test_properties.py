"""Property tests: round trips, and a parser that only ever raises its own error."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import document_packages, status_packages

from gateway.edxml import EdxmlError, build_package, parse_package, validate_package
from gateway.edxml.models import DocumentPackage, StatusPackage
from support.samples import sample_bytes

_settings = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(document_packages())
def test_document_round_trip(package: DocumentPackage) -> None:
    assert parse_package(build_package(package)) == package


@_settings
@given(status_packages)
def test_status_round_trip(package: StatusPackage) -> None:
    assert parse_package(build_package(package)) == package


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_edxml_error(data: bytes) -> None:
    try:
        parse_package(data)
    except EdxmlError as exc:
        assert exc.findings
    report = validate_package(data)
    assert report.findings or report.package is not None


_SAMPLE = sample_bytes("status.edxml")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(_SAMPLE) - 1), st.binary(min_size=1, max_size=8))
def test_mutated_samples_raise_only_edxml_error(position: int, junk: bytes) -> None:
    data = _SAMPLE[:position] + junk + _SAMPLE[position + len(junk) :]
    with contextlib.suppress(EdxmlError):
        parse_package(data)
    validate_package(data)
