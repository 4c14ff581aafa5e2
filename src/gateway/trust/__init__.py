"""Signatures on edXML packages: verification against government CAs, classification, policy,
and the gateway's own signing key. Imports nothing from `gateway` except `edxml.codes`."""

from __future__ import annotations

from .certs import CertificateHealth, CertificateInfo
from .keys import init_dev_keys
from .policy import PolicyDecision, PolicyMode, SignaturePolicy, decide
from .reasons import Reason, ReasonCode
from .sign import GatewaySigner
from .store import TrustStore
from .verify import (
    SignatureClass,
    SignatureReport,
    signed_info_counts_comments,
    verify_package,
    verify_tree,
)

__all__ = [
    "CertificateHealth",
    "CertificateInfo",
    "GatewaySigner",
    "PolicyDecision",
    "PolicyMode",
    "Reason",
    "ReasonCode",
    "SignatureClass",
    "SignaturePolicy",
    "SignatureReport",
    "TrustStore",
    "decide",
    "init_dev_keys",
    "signed_info_counts_comments",
    "verify_package",
    "verify_tree",
]
