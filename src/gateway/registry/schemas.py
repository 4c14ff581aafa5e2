"""API shapes of the registry."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..db import ShownDateTime
from .contacts import ContactEmail, ContactPhone, ContactText

AGENCY_CODE_PATTERN = r"^[0-9A-Za-z.]{1,35}$"
AgencyCode = Field(pattern=AGENCY_CODE_PATTERN, examples=["000.00.01.H99"])


class AgencyIn(BaseModel):
    """One agency, as created through the API or one row of an import file."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    code: str = AgencyCode
    name: str = Field(min_length=1, max_length=500, examples=["Sở Tài chính tỉnh Mẫu"])
    parent_code: str | None = Field(default=None, pattern=AGENCY_CODE_PATTERN)
    level: int | None = Field(
        default=None, ge=1, le=9, description="1–4 in the 2016 code form; inferred when omitted"
    )
    active: bool = True
    superseded_by: str | None = Field(default=None, pattern=AGENCY_CODE_PATTERN)
    delivery_mode: Literal["poll", "push", "upstream"] = Field(
        default="poll",
        description="poll (inbox), push (endpoint_url), or upstream (reached through the "
        "national axis, gateway.axis)",
    )
    endpoint_url: str | None = Field(default=None, max_length=2000)
    test_endpoint: bool = Field(
        default=False, description="an operator's test endpoint: plain http allowed in production"
    )
    contact_name: ContactText = None
    contact_position: ContactText = None
    contact_email: ContactEmail = None
    contact_phone: ContactPhone = None

    @field_validator("parent_code", "superseded_by", "endpoint_url", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("level", mode="before")
    @classmethod
    def _empty_level(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("active", "test_endpoint", mode="before")
    @classmethod
    def _active_text(cls, v: object) -> object:
        if isinstance(v, str):
            text = v.strip().lower()
            if text in ("", "1", "true", "yes", "y", "có"):
                return True
            if text in ("0", "false", "no", "n", "không"):
                return False
        return v

    @model_validator(mode="after")
    def _check(self) -> AgencyIn:
        if self.delivery_mode == "push" and not self.endpoint_url:
            raise ValueError("delivery_mode 'push' needs an endpoint_url")
        if self.endpoint_url and not self.endpoint_url.startswith(("https://", "http://")):
            raise ValueError("endpoint_url must be an http(s) URL")
        if self.superseded_by == self.code or self.parent_code == self.code:
            raise ValueError("an agency cannot be its own parent or successor")
        return self


class AgencyPatch(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=500)
    parent_code: str | None = Field(default=None, pattern=AGENCY_CODE_PATTERN)
    level: int | None = Field(default=None, ge=1, le=9)
    active: bool | None = None
    superseded_by: str | None = Field(default=None, pattern=AGENCY_CODE_PATTERN)
    delivery_mode: Literal["poll", "push", "upstream"] | None = None
    endpoint_url: str | None = None
    test_endpoint: bool | None = None
    contact_name: ContactText = None
    contact_position: ContactText = None
    contact_email: ContactEmail = None
    contact_phone: ContactPhone = None


class AgencyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    parent_code: str | None
    level: int
    active: bool
    superseded_by: str | None
    delivery_mode: str
    endpoint_url: str | None
    test_endpoint: bool = False
    contact_name: str | None = None
    contact_position: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    created_at: ShownDateTime
    updated_at: ShownDateTime
    push_secret: str | None = Field(
        default=None,
        description="Only when the agency was just set to push mode: its push HMAC secret, "
        "shown this once (rotate: POST /admin/agencies/{code}/push-secret).",
    )


class AgencyPage(BaseModel):
    items: list[AgencyOut]
    total: int
    offset: int
    limit: int


class ImportResult(BaseModel):
    total: int
    created: int
    updated: int


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    prefix: str
    label: str | None
    created_at: ShownDateTime
    revoked_at: ShownDateTime | None


class CertificateIn(BaseModel):
    identity: str = Field(
        min_length=3,
        max_length=500,
        description="SHA-256 fingerprint (hex) or subject DN, as the proxy forwards it",
    )


class CertificateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    identity: str
    created_at: ShownDateTime
    revoked_at: ShownDateTime | None


class SystemIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["qlvb-so-tai-chinh"])
    agencies: list[str] = Field(min_length=1, examples=[["000.00.11.H99"]])
    certificates: list[str] = Field(default_factory=list)


class SystemPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agencies: list[str] | None = Field(default=None, min_length=1)
    active: bool | None = None


class SystemOut(BaseModel):
    id: str
    name: str
    active: bool
    agencies: list[str]
    created_at: ShownDateTime
    keys: list[ApiKeyOut] = Field(default_factory=list)
    certificates: list[CertificateOut] = Field(default_factory=list)


class SystemCreated(BaseModel):
    system: SystemOut
    api_key: str = Field(description="Shown only once: store it now.")


class KeyCreated(BaseModel):
    key: ApiKeyOut
    api_key: str = Field(description="Shown only once: store it now.")


class WhoAmI(BaseModel):
    kind: str
    id: str
    name: str
    agencies: list[str]
    role: str | None
