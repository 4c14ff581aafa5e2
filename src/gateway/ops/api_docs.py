"""API docs served by the gateway itself, and the landing page at `/`.

Swagger UI's assets come from the `swagger-ui-bundle` distribution and are served under
`/api/v1/docs/assets/`: government networks are often cut off from the internet, where FastAPI's
default page (scripts from a CDN) stays blank.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from .. import __version__
from ..api_language import negotiate

_LANDING = {
    "vi": {
        "title": "Trục liên thông văn bản tỉnh",
        "docs": "Tài liệu API (OpenAPI, thử trực tiếp)",
        "spec": "Đặc tả OpenAPI (JSON)",
        "dashboard": "Bảng điều khiển cho người vận hành",
        "health": "Tình trạng dịch vụ",
        "ready": "Sẵn sàng nhận tải (cơ sở dữ liệu, hàng đợi)",
    },
    "en": {
        "title": "Provincial document-interchange gateway",
        "docs": "API documentation (OpenAPI, try it out)",
        "spec": "OpenAPI specification (JSON)",
        "dashboard": "Operators' dashboard",
        "health": "Service health",
        "ready": "Readiness (database, queue)",
    },
}


def install(app: FastAPI, api_prefix: str, *, dashboard: bool) -> None:
    docs_url = f"{api_prefix}/docs"
    assets = f"{docs_url}/assets"
    openapi_url = f"{api_prefix}/openapi.json"
    app.mount(assets, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui-assets")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
        )

    _document_malformed_json(app)

    links = [(docs_url, "docs"), (openapi_url, "spec")]
    if dashboard:
        links.append(("/dashboard/", "dashboard"))
    links += [(f"{api_prefix}/health", "health"), ("/readyz", "ready")]

    @app.get("/", include_in_schema=False)
    async def landing(request: Request) -> HTMLResponse:
        lang = negotiate(request.headers.get("accept-language"))
        words = _LANDING[lang]
        items = "".join(
            f'<li><a href="{escape(url)}">{escape(words[key])}</a> <code>{escape(url)}</code></li>'
            for url, key in links
        )
        return HTMLResponse(
            f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{escape(words['title'])}</title></head><body>"
            f"<h1>{escape(words['title'])}</h1><p>QCVN 102:2016 · {escape(__version__)}</p>"
            f"<ul>{items}</ul></body></html>"
        )


def _document_malformed_json(app: FastAPI) -> None:
    """Every operation with a JSON body may answer 400 MALFORMED_JSON (gateway.request_problems
    turns a body that is not JSON into it): say so in the OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = generate()
        note = "The body is not well-formed JSON (code: `MALFORMED_JSON`)"
        envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                body = operation.get("requestBody", {}).get("content", {})
                if "application/json" not in body:
                    continue
                answers = operation.setdefault("responses", {})
                if "400" in answers:
                    answers["400"]["description"] += f"; {note}"
                else:
                    answers["400"] = {"description": note, "content": envelope}
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
