"""The trust pieces the service runs with, built once from settings at start-up.

- the TrustStore (CA bundle + CRLs) that agency signatures are checked against;
- the signature policy (`require` for documents in production, `warn` in development;
  per-document-type overrides);
- the gateway's own signer (key + certificate). In development a key pair is created under
  `<data_dir>/keys` on first start (as `gateway keys init` would); production must configure
  GATEWAY_SIGNING_KEY_FILE and GATEWAY_SIGNING_CERT_FILE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import anyio

from ..db import Database
from ..packages.signatures import STATUS_POLICY_KEY, TrustSignatureCheck
from ..registry.signing import RegistrySigners
from ..settings import Settings
from . import CertificateHealth, GatewaySigner, PolicyMode, SignaturePolicy, TrustStore
from .keys import init_dev_keys

DEV_COMMON_NAME = "Trục liên thông văn bản (phát triển)"


@dataclass
class TrustRuntime:
    settings: Settings
    store: TrustStore | None
    policy: SignaturePolicy
    check: TrustSignatureCheck
    _signer: GatewaySigner | None = None

    @property
    def signer(self) -> GatewaySigner:
        """Loaded on first use: only receipts and the published certificate need it."""
        if self._signer is None:
            self._signer = load_signer(self.settings)
        return self._signer

    def attach(self, db: Database) -> None:
        """Let the signature step read the agencies' signing identities (needs the database)."""
        self.check.signers = RegistrySigners(db)

    def health(self, now: datetime) -> dict[str, object]:
        anchors: list[CertificateHealth] = self.store.anchor_health(now) if self.store else []
        return {"gateway": self.signer.health(now), "trust_anchors": anchors}


def load_signer(settings: Settings) -> GatewaySigner:
    key, cert = settings.signing_key_file, settings.signing_cert_file
    if key is None or cert is None:
        if settings.environment == "production":
            raise ValueError(
                "GATEWAY_SIGNING_KEY_FILE and GATEWAY_SIGNING_CERT_FILE are required in production"
            )
        key = settings.keys_dir / "gateway-key.pem"
        cert = settings.keys_dir / "gateway-cert.pem"
        if not key.exists() or not cert.exists():
            init_dev_keys(settings.keys_dir, DEV_COMMON_NAME)
    return GatewaySigner.from_files(key, cert)


def policy_from(settings: Settings) -> SignaturePolicy:
    """The policy in force. Unless set explicitly, production requires signed documents (the
    regulations make only a signed document an original) while status packages, which the
    official SDK sends with a placeholder block, stay `warn`; development warns throughout."""
    overrides = dict(settings.signature_policy_overrides)
    mode = settings.signature_policy
    if mode is None:
        mode = "require" if settings.environment == "production" else "warn"
        if mode == "require":
            overrides.setdefault(STATUS_POLICY_KEY, "warn")
    return SignaturePolicy(mode=mode, by_document_type=overrides)


def build_trust(settings: Settings) -> TrustRuntime:
    store = (
        TrustStore.from_files(settings.trust_bundle, settings.trust_crls)
        if settings.trust_bundle
        else None
    )
    policy = policy_from(settings)
    check = TrustSignatureCheck(
        store=store,
        policy=policy,
        limits=settings.edxml_limits(),
        limiter=anyio.CapacityLimiter(settings.max_concurrent_verifications),
        document_file_policy=PolicyMode(settings.signature_document_file_policy),
    )
    return TrustRuntime(settings=settings, store=store, policy=policy, check=check)
