"""The RabbitMQ URL the tests use: one vhost of their own per pytest run.

On the broker of this machine (a loopback URL and `rabbitmqctl` usable) a run creates
`gateway-test-<random>`, grants the URL's user full rights on it, points every RabbitMQ test at
it and deletes it at the end: nothing a run declares can meet another run's or a person's queues.
A vhost per test would cost seconds each (rabbitmqctl takes ~1.7 s a call), so it is per run.
Elsewhere (a remote broker, no rabbitmqctl) the tests stay in the vhost of
GATEWAY_TEST_RABBITMQ_URL, each under its own name prefix (tests/delivery/delivery_support.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from yarl import URL

CONFIGURED_URL = os.environ.get("GATEWAY_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_current: str | None = None  # set for the run by the session fixture (tests/conftest.py)


def rabbitmq_url() -> str:
    """The URL every RabbitMQ test connects to: the run's own vhost once it exists."""
    return _current or CONFIGURED_URL


def shown(url: str) -> str:
    """The URL with its password hidden, for messages."""
    parsed = URL(url)
    return str(parsed.with_password("***")) if parsed.password else url


class VhostUnavailable(Exception):
    """rabbitmqctl cannot make a vhost for this run (the reason says why)."""


@dataclass
class RunVhost:
    name: str
    url: str


def _ctl(*args: str) -> None:
    done = subprocess.run(
        ["rabbitmqctl", "--quiet", *args], capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        output = " ".join((done.stderr or done.stdout).split())[:300]
        raise VhostUnavailable(f"rabbitmqctl {args[0]} failed: {output}")


def ctl_usable(url: str = CONFIGURED_URL) -> str | None:
    """None when this run can have its own vhost, else why not."""
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed"
    if URL(url).host not in _LOOPBACK:
        return f"the broker {URL(url).host} is not on this machine"
    return None


def create(url: str = CONFIGURED_URL) -> RunVhost:
    """Make `gateway-test-<random>` and let the URL's user do everything in it."""
    name = f"gateway-test-{uuid.uuid4().hex[:12]}"
    user = URL(url).user or "guest"
    _ctl("add_vhost", name)
    try:
        _ctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
    except BaseException:
        delete(name)
        raise
    # yarl keeps a path as given: quote the name so it is one path segment
    return RunVhost(name, str(URL(url).with_path("/" + quote(name, safe=""), encoded=True)))


def delete(name: str) -> None:
    _ctl("delete_vhost", name)


def use(url: str | None) -> None:
    global _current
    _current = url
