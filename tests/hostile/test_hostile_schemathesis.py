"""Property-based fuzzing of every operation in the OpenAPI document (native API and the VXP
routes) with schemathesis, in-process (ASGI), on SQLite and PostgreSQL.

Each operation is called with generated valid and invalid inputs, once as an operator (admin)
and once as an agency system, and must never answer 5xx; the answers must also match the
documented responses (status code listed, body shape per the response schema).

Bounded for CI: `GATEWAY_FUZZ_EXAMPLES` examples per operation, mode and caller (default 4;
derandomized, so a run is reproducible). A deeper run: GATEWAY_FUZZ_EXAMPLES=100 pytest
tests/hostile/test_hostile_schemathesis.py.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from gateway.app import create_app
from gateway.db import Database
from gateway.registry.schemas import AgencyIn, SystemIn
from gateway.registry.service import RegistryService

A80, H17 = "000.00.00.A80", "28.22.H17"
EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "4"))


def provision(gateway_settings: Any) -> dict[str, dict[str, str]]:
    """Two agencies, an admin operator and a system for A80; the headers of each caller."""

    async def go() -> dict[str, dict[str, str]]:
        db = Database(gateway_settings)
        try:
            async with db.sessionmaker() as session:
                registry = RegistryService(session, "fuzz")
                for code in (A80, H17):
                    await registry.create_agency(AgencyIn(code=code, name=f"Cơ quan {code}"))
                _, admin = await registry.create_operator("fuzz-admin", "admin")
                _, system = await registry.create_system(SystemIn(name="fuzz", agencies=[A80]))
                await session.commit()
        finally:
            await db.dispose()
        return {
            "operator": {"Authorization": f"Bearer {admin}"},
            "system": {"X-API-Key": system},
        }

    return asyncio.run(go())


def fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        response = case.call(headers=headers)
        checks = [not_a_server_error]
        if mode is GenerationMode.POSITIVE:
            checks += [status_code_conformance, response_schema_conformance]
        case.validate_response(response, checks=checks, headers=headers)

    call()


def test_hostile_schemathesis(gateway_settings) -> None:
    callers = provision(gateway_settings)
    app = create_app(gateway_settings)
    try:
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
        failures: list[str] = []
        operations = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            for caller, headers in callers.items():
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    label = (
                        f"{operation.method.upper()} {operation.path} as {caller} ({mode.value})"
                    )
                    try:
                        fuzz(operation, mode, headers)
                    except Unsatisfiable:
                        continue  # no input can be made invalid (an operation without inputs)
                    except (
                        Exception,
                        BaseExceptionGroup,
                    ) as exc:  # collect every operation's failure, then report
                        failures.append(f"{label}: {str(exc)[:2000]}")
        assert operations >= 40  # native API + VXP routes
        assert not failures, "\n\n".join(failures)
    finally:
        asgi.shutdown_lifespans()
