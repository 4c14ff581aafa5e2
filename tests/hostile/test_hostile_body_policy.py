"""Issue 18 item 2: authenticate before reading a body; one body cap per route, enforced while
streaming; a stalled body times out. Bytes read are counted on the ASGI receive channel."""

from __future__ import annotations

import json

from asgi_probe import call

MIB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


def big_json_chunks(total: int, chunk: int = 64 * 1024) -> list[bytes]:
    head = b'{"code": "000.00.00.A80", "name": "'
    return [head] + [b"x" * chunk] * (total // chunk) + [b'"}']


async def test_anonymous_large_json_is_refused_before_reading(gw) -> None:
    chunks = big_json_chunks(64 * MIB)
    for path in ("/api/v1/admin/agencies", "/api/v1/admin/systems"):
        r = await call(gw.app, "POST", path, headers=JSON, chunks=chunks)
        assert r.status == 401, r.body[:300]
        assert r.json()["error"]["code"] == "UNAUTHENTICATED"
        assert r.bytes_read == 0
    # a declared length does not change that
    r = await call(
        gw.app,
        "POST",
        "/api/v1/admin/agencies",
        headers={**JSON, "Content-Length": str(256 * MIB)},
        chunks=chunks,
    )
    assert (r.status, r.bytes_read) == (401, 0)
    # a wrong key is also refused before the body
    r = await call(
        gw.app,
        "POST",
        "/api/v1/admin/agencies",
        headers={**JSON, "Authorization": "Bearer gw_wrong"},
        chunks=chunks,
    )
    assert (r.status, r.bytes_read) == (401, 0)
    assert await gw.count("agencies") == 0


async def test_authenticated_oversize_json_is_413_while_streaming(gw) -> None:
    admin = await gw.admin()
    r = await call(
        gw.app,
        "POST",
        "/api/v1/admin/agencies",
        headers={**JSON, **admin},
        chunks=big_json_chunks(4 * MIB),
    )
    assert r.status == 413, r.body[:300]
    body = r.json()["error"]
    assert body["code"] == "PAYLOAD_TOO_LARGE"
    assert body["details"]["limit"] == gw.app.state.settings.max_json_body_bytes
    assert r.bytes_read <= 2 * 64 * 1024 + 64  # cut off at the cap, not read whole
    # declared too large: refused before reading
    r = await call(
        gw.app,
        "POST",
        "/api/v1/admin/agencies",
        headers={**JSON, **admin, "Content-Length": str(MIB)},
        chunks=big_json_chunks(MIB),
    )
    assert (r.status, r.bytes_read) == (413, 0)
    assert r.json()["error"]["details"]["size"] == MIB
    assert await gw.count("agencies") == 0
    # a normal JSON body still works
    r = await gw.http.post(
        "/api/v1/admin/agencies",
        json={"code": "000.00.00.A80", "name": "Cơ quan A80"},
        headers=admin,
    )
    assert r.status_code == 201, r.text


async def test_packages_keep_the_package_limit(make_gateway) -> None:
    gw = await make_gateway(max_json_body_bytes=1024, max_body_bytes=4096)
    keys = await gw.setup("000.00.00.A80")
    # a package route is not held to the JSON cap…
    r = await gw.post_package(b"<x>" + b" " * 2000 + b"</x>", keys["000.00.00.A80"])
    assert r.status_code != 413, r.text
    # …but to the package cap, declared or streamed
    r = await gw.post_package(b"<x>" + b" " * 5000 + b"</x>", keys["000.00.00.A80"])
    assert r.status_code == 413, r.text
    r = await call(
        gw.app,
        "POST",
        "/api/v1/packages",
        headers={
            "Content-Type": "application/xml",
            "Authorization": f"Bearer {keys['000.00.00.A80']}",
        },
        chunks=[b"<x>"] + [b" " * 1024] * 64,
    )
    assert r.status == 413 and r.bytes_read <= 4096 + 1024
    assert r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    # anonymous: refused before the package is read
    r = await call(
        gw.app,
        "POST",
        "/api/v1/packages",
        headers={"Content-Type": "application/xml"},
        chunks=[b"<x>"] * 10,
    )
    assert (r.status, r.bytes_read) == (401, 0)


async def test_stalled_body_times_out(make_gateway) -> None:
    gw = await make_gateway(body_timeout_seconds=0.05)
    admin = await gw.admin()
    r = await call(
        gw.app,
        "POST",
        "/api/v1/admin/agencies",
        headers={**JSON, **admin},
        chunks=[b'{"code": "000.00.00.A80",', b' "name": "x"}'],
        stall_after=1,
    )
    assert r.status == 408, r.body
    assert r.json()["error"]["code"] == "REQUEST_TIMEOUT"
    keys = await gw.setup("000.00.00.A80")
    r = await call(
        gw.app,
        "POST",
        "/api/v1/packages",
        headers={
            "Content-Type": "application/xml",
            "Authorization": f"Bearer {keys['000.00.00.A80']}",
        },
        chunks=[b"<x>", b"</x>"],
        stall_after=1,
    )
    assert r.status == 408, r.body
    assert await gw.count("packages") == 0


async def test_content_length_that_is_not_a_number(gw) -> None:
    admin = await gw.admin()
    system = {"Authorization": f"Bearer {(await gw.setup('000.00.00.A80'))['000.00.00.A80']}"}
    for path, ctype, auth in (
        ("/api/v1/admin/agencies", "application/json", admin),
        ("/api/v1/packages", "application/xml", system),
    ):
        for bad in ("abc", "-1", "1e3"):
            r = await call(
                gw.app,
                "POST",
                path,
                headers={"Content-Type": ctype, "Content-Length": bad, **auth},
                chunks=[json.dumps({"code": "x"}).encode()],
            )
            assert r.status == 400, (path, bad, r.body)
            assert r.json()["error"]["code"] == "BAD_REQUEST"


async def test_dashboard_form_needs_a_session_before_its_body(gw) -> None:
    r = await call(
        gw.app,
        "POST",
        "/dashboard/deliveries/1/resend",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        chunks=[b"csrf=" + b"x" * 65536] * 64,
    )
    assert r.status in (303, 401, 302), r.status
    assert r.bytes_read == 0
