"""Push endpoints must be https in production: documents and push secrets' signatures must not
cross the network in clear. Plain http stays possible for an agency an operator explicitly marks
as a test endpoint (`test_endpoint`), e.g. an agency's staging system during onboarding."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import GatewayError
from .endpoint_secret import redact


class PushEndpointNotHttps(GatewayError):
    status_code = 422
    code = "PUSH_ENDPOINT_NOT_HTTPS"
    default_message = "Địa chỉ nhận (endpoint_url) phải dùng https trong môi trường vận hành"
    description = (
        "In production a push endpoint must be https, unless the agency is marked test_endpoint"
    )


def plain_http_refused(production: bool, url: str | None, test_endpoint: bool) -> bool:
    """True when `url` is a plain-http push endpoint that production does not allow."""
    if not production or not url or test_endpoint:
        return False
    return urlsplit(url.strip()).scheme.lower() != "https"


def refusal_message(code: str, url: str) -> str:
    """Shown to operators and stored on the delivery: credentials in the URL never are."""
    return (
        f"Cơ quan {code}: địa chỉ nhận {redact(url)} không dùng https; trong môi trường vận "
        "hành chỉ cơ quan được đánh dấu test_endpoint mới được dùng http"
    )
