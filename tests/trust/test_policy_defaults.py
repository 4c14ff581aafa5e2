"""Item 3 of issue 13: production requires signed documents by default; development warns."""

from __future__ import annotations

from gateway.settings import Settings
from gateway.trust import PolicyMode
from gateway.trust.runtime import policy_from

PROD = {
    "environment": "production",
    "node_code": "00.53.W00",
    "database_url": "postgresql+asyncpg://x@y/z",
}


def test_production_default_requires_signed_documents():
    policy = policy_from(Settings(**PROD))
    assert policy.mode is PolicyMode.REQUIRE
    assert policy.mode_for("Công văn") is PolicyMode.REQUIRE
    # status packages are not documents: the SDK's statuses carry placeholders, so they warn
    assert policy.mode_for("status") is PolicyMode.WARN


def test_development_default_warns():
    policy = policy_from(Settings())
    assert policy.mode is PolicyMode.WARN
    assert policy.mode_for("status") is PolicyMode.WARN


def test_explicit_policy_and_overrides_win_in_production():
    warn = policy_from(Settings(**PROD, signature_policy="warn"))
    assert warn.mode is PolicyMode.WARN
    overridden = policy_from(
        Settings(**PROD, signature_policy_overrides={"Công văn": "warn", "status": "require"})
    )
    assert overridden.mode is PolicyMode.REQUIRE
    assert overridden.mode_for("Công văn") is PolicyMode.WARN
    assert overridden.mode_for("status") is PolicyMode.REQUIRE


def test_development_can_opt_into_require():
    assert policy_from(Settings(signature_policy="require")).mode is PolicyMode.REQUIRE
