"""Issue 18 item 5: thirty concurrent password guesses must not all be checked, and the right
password inside a locked burst must not log in (attempts are counted in the database before the
password is checked), on both backends."""

from __future__ import annotations

import asyncio
import threading

import gateway.ops.sessions as sessions
from ops.ops_support import PASSWORD, create_operator, csrf_of

BURST = 30


async def test_concurrent_guesses_are_counted_before_checking(gw, monkeypatch) -> None:
    await create_operator(gw, "op", "operator")
    page = await gw.http.get("/dashboard/login")
    csrf = csrf_of(page.text)
    limit = gw.app.state.settings.dashboard_login_max_failures

    release = threading.Event()
    checks: list[str] = []
    real_verify = sessions.verify_password

    loop = asyncio.get_running_loop()
    all_checking = asyncio.Event()

    def held_verify(password: str, stored: str) -> bool:
        checks.append(password)
        if len(checks) == limit:
            loop.call_soon_threadsafe(all_checking.set)
        release.wait(60)  # guard, not a timing: every check waits until the burst is decided
        return real_verify(password, stored)

    monkeypatch.setattr(sessions, "verify_password", held_verify)

    async def guess(password: str) -> int:
        form = {"username": "op", "password": password, "csrf_token": csrf, "next": ""}
        r = await gw.http.post("/dashboard/login", data=form)
        return r.status_code

    burst = [asyncio.create_task(guess(f"sai-{i}")) for i in range(BURST)]
    try:
        # all but `limit` of the guesses are refused without a password check…
        pending = set(burst)

        async def decided() -> None:
            while len(burst) - len(pending) < BURST - limit:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                pending.difference_update(done)
            await all_checking.wait()

        await asyncio.wait_for(decided(), 60)  # a guard: the old code checked all 30
        refused = [t.result() for t in burst if t.done()]
        assert refused == [429] * (BURST - limit)
        assert len(checks) == limit
        # …and the right password, while the burst's checks are still running, is locked out
        right = await guess(PASSWORD)
        assert right == 429
        assert len(checks) == limit
    finally:
        release.set()
    rest = await asyncio.gather(*burst)
    assert sorted(rest).count(401) == limit
    assert sorted(rest).count(429) == BURST - limit
    # nobody logged in during or after the burst
    assert await gw.count("operator_sessions") == 0
    assert await guess(PASSWORD) == 429
