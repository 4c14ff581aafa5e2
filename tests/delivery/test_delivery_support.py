"""The test helpers themselves: on a shared broker they stay inside the run's own vhost, or
the configured one where no vhost can be made."""

from __future__ import annotations

import shutil
import subprocess

import aio_pika
import pytest
from delivery_support import TcpProxy
from yarl import URL

from support.rabbitmq_vhost import CONFIGURED_URL, create, ctl_usable, delete, rabbitmq_url


async def test_proxy_keeps_the_configured_broker_credentials_and_vhost() -> None:
    proxy = TcpProxy("amqp://team:secret@broker.internal:5673/newcomer-a")
    assert proxy.target == ("broker.internal", 5673)
    await proxy.start()
    try:
        assert proxy.url == f"amqp://team:secret@127.0.0.1:{proxy.port}/newcomer-a"
    finally:
        await proxy.close()


def _vhosts() -> set[str]:
    listed = subprocess.run(
        ["rabbitmqctl", "--quiet", "list_vhosts"], capture_output=True, text=True, check=True
    )
    return set(listed.stdout.split())


def test_a_remote_broker_or_no_rabbitmqctl_falls_back_to_prefixes(monkeypatch) -> None:
    assert "not on this machine" in (ctl_usable("amqp://u:p@broker.internal:5672/x") or "")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert ctl_usable("amqp://guest:guest@127.0.0.1:5672/") == "rabbitmqctl is not installed"


@pytest.mark.rabbitmq
async def test_rabbitmq_tests_run_in_a_vhost_of_their_own() -> None:
    if ctl_usable() is not None:
        pytest.skip(f"no vhost of the run's own here: {ctl_usable()}")
    vhost = URL(rabbitmq_url()).path.lstrip("/")
    assert vhost.startswith("gateway-test-") and vhost in _vhosts()
    assert URL(rabbitmq_url()).user == URL(CONFIGURED_URL).user
    conn = await aio_pika.connect(rabbitmq_url(), timeout=10)  # the user may use it
    async with conn:
        channel = await conn.channel()
        queue = await channel.declare_queue("", exclusive=True)
        assert queue.name


@pytest.mark.rabbitmq
def test_a_run_vhost_is_made_for_the_user_and_deleted() -> None:
    if ctl_usable() is not None:
        pytest.skip(f"no vhost of the run's own here: {ctl_usable()}")
    made = create()
    try:
        assert made.name in _vhosts()
        assert URL(made.url).path == f"/{made.name}"
    finally:
        delete(made.name)
    assert made.name not in _vhosts()
