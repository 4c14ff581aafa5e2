"""`gateway deliveries list|resend|cancel` on the embedded SQLite default, and the push client
sending JSON notices with the same HMAC headers."""

from __future__ import annotations

import asyncio

import httpx
from endpoints import always, endpoints, healthy
from gateway_support import (
    G17,
    G22,
    H14,
    H41,
    document,
    fast_settings,
    gateway,
    register,
    send,
    settle,
)
from sqlalchemy import select
from typer.testing import CliRunner

from gateway.audit.models import AuditEvent
from gateway.cli import app
from gateway.delivery.push import PushClient, verify_push_headers
from gateway.settings import get_settings


async def run(*args: str):
    # the commands run their own event loop: call them from a thread
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


async def test_cli_list_resend_cancel(cli_env, tmp_path):
    settings = fast_settings(get_settings())
    async with endpoints(always(400)) as (ep,):
        async with gateway(settings) as gw:
            keys = await register(gw, {H41: ep}, poll=(H14, G17))
            sent = [await send(gw, keys[G22], document(i)) for i in range(2)]
            await settle(gw, 6, poll=(H14, G17))
        ids = sorted(
            d["delivery_id"] for s in sent for d in s["deliveries"] if d["recipient"] == H41
        )

        r = await run("deliveries", "list", "--state", "failed")
        assert r.exit_code == 0, r.output
        assert "2 bản gửi" in r.output
        r = await run("deliveries", "resend", ids[0])
        assert r.exit_code != 0  # --reason is required
        r = await run("deliveries", "cancel", ids[1], "--reason", "agency asked to stop")
        assert r.exit_code == 0, r.output
        ep.behaviour = healthy
        r = await run("deliveries", "resend", "--agency", H41, "--reason", "endpoint fixed")
        assert r.exit_code == 0, r.output
        assert "đã gửi lại 1 bản" in r.output and ids[0] in r.output
        r = await run("deliveries", "resend", ids[1], "--reason", "cancelled ones stay cancelled")
        assert r.exit_code == 1

        async with gateway(settings) as gw:  # the server delivers what the CLI resent
            rows = await settle(gw, 6, poll=(H14, G17))
            async with gw.db.sessionmaker() as s:
                actions = list(
                    (
                        await s.scalars(
                            select(AuditEvent.action).where(AuditEvent.actor.like("cli:%"))
                        )
                    ).all()
                )
    states = {d.id: d.state for d in rows}
    assert (states[ids[0]], states[ids[1]]) == ("delivered", "cancelled")
    assert ep.new == [ids[0]]
    assert sorted(actions) == ["delivery.cancelled", "delivery.resent"]


async def test_push_client_sends_json_with_the_same_signature() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    async with PushClient(transport=httpx.MockTransport(handler)) as client:
        outcome = await client.push(
            "http://agency.test/notice",
            b'{"type":"delivery.acknowledged"}',
            delivery_id="n-1",
            secret="s3cret",
            content_type="application/json",
        )
    assert outcome.delivered
    (request,) = seen
    assert request.headers["content-type"] == "application/json"
    assert verify_push_headers("s3cret", request.content, request.headers)
