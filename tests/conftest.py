"""Shared test configuration.

Tests that need PostgreSQL or RabbitMQ are marked `postgres` / `rabbitmq`. Without the service
they skip with the reason — unless GATEWAY_REQUIRE_SERVICES=1 (set by .ci/run), which turns a
missing service into a failure so CI can never pass by skipping them.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from support.samples import (  # noqa: F401  (re-exported for older test modules)
    ALL_SAMPLES,
    DOCUMENT_SAMPLES,
    SAMPLES,
    STATUS_SAMPLES,
    sample_bytes,
)

# Property tests judge inputs, never speed: a loaded CI box must not fail them for being slow.
settings.register_profile("gateway", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("gateway")

POSTGRES_URL = os.environ.get(
    "GATEWAY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
RABBITMQ_URL = os.environ.get("GATEWAY_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
# each run gets a vhost of its own: the `rabbitmq_vhost` fixture, support/rabbitmq_vhost.py
REQUIRE_SERVICES = os.environ.get("GATEWAY_REQUIRE_SERVICES") == "1"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or fail, when services are required) if a service is not listening."""
    if _reachable(host, port):
        return
    reason = f"{name} is not reachable on {host}:{port}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} and GATEWAY_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason)


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-at",
        metavar="ISO_TIME",
        help="run with the clock moved to this time (time-machine; it keeps ticking), e.g. "
        "--clock-at 2027-07-15T12:30Z: no test may depend on today's date",
    )


def pytest_configure(config: pytest.Config) -> None:
    when = config.getoption("--clock-at")
    if when:
        import time_machine

        config._clock_travel = time_machine.travel(when, tick=True)  # type: ignore[attr-defined]
        config._clock_travel.start()  # type: ignore[attr-defined]


def pytest_runtest_setup(item: pytest.Item) -> None:
    # probe the servers the tests will use (GATEWAY_TEST_*_URL), not a fixed local port
    if item.get_closest_marker("postgres"):
        require_service("PostgreSQL", *_host_port(POSTGRES_URL, 5432))
    if item.get_closest_marker("rabbitmq"):
        require_service("RabbitMQ", *_host_port(RABBITMQ_URL, 5672))


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def rabbitmq_vhost(request: pytest.FixtureRequest) -> Iterator[str]:
    """This run's own RabbitMQ vhost (made and deleted with rabbitmqctl), or, where that cannot
    be done, the configured one with per-test name prefixes (said once). Yields the URL."""
    from support import rabbitmq_vhost as vhosts

    say = request.config.pluginmanager.get_plugin("terminalreporter")
    why_not = vhosts.ctl_usable()
    run_vhost = None
    if why_not is None:
        try:
            run_vhost = vhosts.create()
        except (vhosts.VhostUnavailable, OSError, subprocess.TimeoutExpired) as exc:
            if REQUIRE_SERVICES:
                pytest.fail(f"{exc} (GATEWAY_REQUIRE_SERVICES=1)", pytrace=False)
            why_not = str(exc)
    if run_vhost is None:
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if say is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                say.write_line(
                    f"\nRabbitMQ tests share the vhost of {vhosts.shown(vhosts.CONFIGURED_URL)}"
                    f" under per-test prefixes: no vhost of their own ({why_not})"
                )
        yield vhosts.rabbitmq_url()
        return
    vhosts.use(run_vhost.url)
    try:
        yield run_vhost.url
    finally:
        vhosts.use(None)
        vhosts.delete(run_vhost.name)


@pytest.fixture(autouse=True)
def _rabbitmq_tests_use_the_run_vhost(request: pytest.FixtureRequest) -> None:
    # only runs that include a RabbitMQ test pay for the vhost (rabbitmqctl is slow)
    # (pytest_runtest_setup above has already skipped them if the broker is not there)
    if request.node.get_closest_marker("rabbitmq"):
        request.getfixturevalue("rabbitmq_vhost")


@pytest.fixture(autouse=True)
def _each_test_starts_in_the_default_language() -> Iterator[None]:
    # `gateway --lang en` run in-process (CliRunner) chooses the language for the rest of the
    # process; without this reset a later test would read English only because of the order
    from gateway import cli_lang

    cli_lang.choose(None)
    yield
    cli_lang.choose(None)


# ------------------------------------------------------------------ the gateway service
# Every API test runs on both backends: SQLite (embedded default) and PostgreSQL (marked
# `postgres`). Each test gets a fresh database copied from a template made once per session
# with the real Alembic migrations.

import asyncio  # noqa: E402
import shutil  # noqa: E402
import uuid  # noqa: E402
from collections.abc import AsyncIterator, Iterator  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_url(database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


async def _postgres_admin(sql: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    conn = await asyncpg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_admin(sql: str) -> None:
    asyncio.run(_postgres_admin(sql))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Settings for a database with nothing in it, on both backends, for migration tests (the
    PostgreSQL one is made for the test and dropped after it)."""
    from gateway.settings import Settings

    if request.param == "sqlite":
        yield Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")
        return
    name = f"gateway_mig_{uuid.uuid4().hex[:10]}"
    postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield Settings(database_url=postgres_url(name))
    finally:
        postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _settings(**kw: Any):
    from gateway.settings import Settings

    return Settings(**kw)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gateway.db import upgrade_blocking

    path = tmp_path_factory.mktemp("template") / "gateway.sqlite3"
    upgrade_blocking(_settings(database_url=f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    from gateway.db import upgrade_blocking

    name = f"gateway_tpl_{uuid.uuid4().hex[:10]}"
    postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        upgrade_blocking(_settings(database_url=postgres_url(name)))
        yield name
    finally:
        postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def gateway_settings(backend: str, request: pytest.FixtureRequest, tmp_path: Path):
    """Settings for a fresh, migrated database of the test's backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "gateway.sqlite3"
        shutil.copy(template, path)
        yield _settings(
            data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{path}", auto_migrate=False
        )
        return
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"gateway_test_{uuid.uuid4().hex[:10]}"
    postgres_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    try:
        yield _settings(data_dir=tmp_path, database_url=postgres_url(name), auto_migrate=False)
    finally:
        postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class GatewayClient:
    """An httpx client on the app (ASGITransport) plus shortcuts to set the registry up."""

    def __init__(self, app: Any, http: httpx.AsyncClient):
        self.app = app
        self.http = http
        self._admin_key: str | None = None

    @property
    def db(self):
        return self.app.state.db

    async def admin_key(self) -> str:
        if self._admin_key is None:
            from gateway.registry.service import RegistryService

            async with self.db.sessionmaker() as session:
                _, key = await RegistryService(session, "test").create_operator("admin", "admin")
                await session.commit()
            self._admin_key = key
        return self._admin_key

    async def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.admin_key()}"}

    async def add_agency(self, code: str, name: str | None = None, **extra: Any) -> dict:
        r = await self.http.post(
            "/api/v1/admin/agencies",
            json={"code": code, "name": name or f"Cơ quan {code}", **extra},
            headers=await self.admin(),
        )
        assert r.status_code == 201, r.text
        return r.json()

    async def add_system(self, name: str, *agencies: str) -> str:
        r = await self.http.post(
            "/api/v1/admin/systems",
            json={"name": name, "agencies": list(agencies)},
            headers=await self.admin(),
        )
        assert r.status_code == 201, r.text
        return r.json()["api_key"]

    async def setup(self, *codes: str) -> dict[str, str]:
        """Register agencies and one system per agency; returns {code: api_key}."""
        keys = {}
        for code in codes:
            await self.add_agency(code)
        for code in codes:
            keys[code] = await self.add_system(f"qlvb-{code}", code)
        return keys

    async def post_package(self, data: bytes, key: str, **headers: str) -> httpx.Response:
        return await self.http.post(
            "/api/v1/packages",
            content=data,
            headers={
                "Content-Type": "application/xml",
                "Authorization": f"Bearer {key}",
                **headers,
            },
        )

    async def get(self, url: str, key: str, **kw: Any) -> httpx.Response:
        return await self.http.get(url, headers={"Authorization": f"Bearer {key}"}, **kw)

    async def post(self, url: str, key: str, **kw: Any) -> httpx.Response:
        return await self.http.post(url, headers={"Authorization": f"Bearer {key}"}, **kw)

    async def count(self, table: str) -> int:
        from sqlalchemy import text

        async with self.db.engine.connect() as conn:
            sql = text(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed names in tests)
            return int((await conn.execute(sql)).scalar_one())


@pytest.fixture
async def make_gateway(gateway_settings) -> AsyncIterator[Any]:
    """Factory: `await make_gateway(**setting_overrides)` → a started GatewayClient."""
    from contextlib import AsyncExitStack

    from gateway.app import create_app

    async with AsyncExitStack() as stack:

        async def make(**overrides: Any) -> GatewayClient:
            settings = gateway_settings.model_copy(update=overrides)
            app = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(
                        app=app, client=("127.0.0.1", 50000), raise_app_exceptions=False
                    ),
                    base_url="http://gateway.test",
                )
            )
            return GatewayClient(app, http)

        yield make


@pytest.fixture
async def gw(make_gateway) -> GatewayClient:
    return await make_gateway()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The `gateway` command on its embedded default (SQLite) in a fresh data directory, which
    it yields; settings are re-read from the environment on both sides of the test."""
    from gateway.settings import get_settings

    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    monkeypatch.delenv("GATEWAY_UPSTREAM_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def rewrite(data: bytes, old: str, new: str, count: int = 1) -> bytes:
    """Replace text in a sample package (asserting it is there)."""
    o, n = old.encode(), new.encode()
    assert data.count(o) >= count, f"{old!r} not in package"
    return data.replace(o, n, count)


SAMPLE_DOCUMENT_ID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"


def original_from_g22() -> bytes:
    """A new document from 000.00.00.G22 to H41, H14, G17 with DocumentId SAMPLE_DOCUMENT_ID:
    the revocation sample turned into a new document (what the revoke/statuses refer to)."""
    return rewrite(
        sample_bytes("edoc_revocation.edxml"),
        "<edXML:BussinessDocType>1</edXML:BussinessDocType>",
        "<edXML:BussinessDocType>0</edXML:BussinessDocType>",
    )


# ----------------------------------------------------------------- signatures (tests/trust/)
# Kept here rather than in tests/trust/conftest.py: a second conftest module would take over
# the name `conftest` that test modules import helpers from.


@pytest.fixture(scope="session")
def pki():
    """One test PKI per session (RSA key generation is slow): root, intermediate, agencies."""
    from trust.pki import build_pki

    return build_pki()


@pytest.fixture(scope="session")
def store(pki):
    from gateway.trust import TrustStore

    return TrustStore([pki.root, pki.intermediate], [pki.crl])


@pytest.fixture(scope="session")
def edoc_unsigned() -> bytes:
    """edoc_new.edxml with the SDK's placeholder Signature removed."""
    from trust.pki import strip_signatures

    return strip_signatures(sample_bytes("edoc_new.edxml"))


@pytest.fixture(scope="session")
def edoc_signed(pki, edoc_unsigned: bytes) -> bytes:
    from trust.pki import agency_sign

    return agency_sign(edoc_unsigned, pki.agency_key, [pki.agency, pki.intermediate])


@pytest.fixture(scope="session")
def gateway_signer(pki):
    from gateway.trust import GatewaySigner
    from gateway.trust.keys import self_signed_certificate

    cert = self_signed_certificate(pki.gateway_key, "Trục liên thông văn bản tỉnh (thử nghiệm)", 30)
    return GatewaySigner(pki.gateway_key, cert)
