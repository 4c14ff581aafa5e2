"""API shapes of deliveries (operator actions), notices and push secrets."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..db import ShownDateTime

Reason = Field(min_length=1, max_length=1000, description="Why (kept in the audit log)")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    package_id: str
    recipient_code: str
    kind: str
    state: str
    queued_at: ShownDateTime
    sent_at: ShownDateTime | None
    delivered_at: ShownDateTime | None
    acknowledged_at: ShownDateTime | None
    cancelled_at: ShownDateTime | None
    attempts: int
    last_error: str | None
    updated_at: ShownDateTime


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    offset: int
    limit: int


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Reason


class BulkResendIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Reason
    agency: str | None = Field(default=None, description="every failed delivery to this agency")
    delivery_ids: list[str] | None = Field(default=None, max_length=10_000)
    state: Literal["failed"] = "failed"


class ResendResult(BaseModel):
    resent: list[str]
    count: int


class PushSecretOut(BaseModel):
    agency: str
    push_secret: str = Field(
        description="Shown only once: give it to the agency; it verifies X-Gateway-Signature "
        "= sha256=HMAC-SHA256(secret, timestamp \\n delivery_id \\n body)."
    )


class NoticeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    type: str
    package_id: str
    delivery_id: str | None
    state: str
    payload: dict
    created_at: ShownDateTime


class NoticePage(BaseModel):
    agency: str
    items: list[NoticeOut]
    next_cursor: str | None
