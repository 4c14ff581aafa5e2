"""The administrator contact of an agency (Hà Giang Art. 11.4): name, position, e-mail, phone.
Used by outage notices. E-mail syntax is checked with email-validator (no DNS lookup), phone
numbers with phonenumbers (Vietnamese numbers by default) and stored in E.164 form."""

from __future__ import annotations

from typing import Annotated

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, StringConstraints

CONTACT_FIELDS = ("contact_name", "contact_position", "contact_email", "contact_phone")


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"e-mail không hợp lệ: {exc}") from None


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        number = phonenumbers.parse(value, "VN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError(f"số điện thoại không hợp lệ: {value!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# the length limit applies to the text; None (no contact) passes untouched
ContactText = Annotated[
    Annotated[str, StringConstraints(max_length=200)] | None, BeforeValidator(_blank_is_none)
]
ContactEmail = Annotated[
    Annotated[str, StringConstraints(max_length=320)] | None,
    BeforeValidator(_blank_is_none),
    AfterValidator(_email),
]
ContactPhone = Annotated[
    Annotated[str, StringConstraints(max_length=40)] | None,
    BeforeValidator(_blank_is_none),
    AfterValidator(_phone),
]
