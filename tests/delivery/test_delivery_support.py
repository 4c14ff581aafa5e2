"""The test helpers themselves: on a shared broker they must stay inside the configured vhost."""

from __future__ import annotations

from delivery_support import TcpProxy


async def test_proxy_keeps_the_configured_broker_credentials_and_vhost() -> None:
    proxy = TcpProxy("amqp://team:secret@broker.internal:5673/newcomer-a")
    assert proxy.target == ("broker.internal", 5673)
    await proxy.start()
    try:
        assert proxy.url == f"amqp://team:secret@127.0.0.1:{proxy.port}/newcomer-a"
    finally:
        await proxy.close()
