"""Operator accounts after creation: list, disable/enable, role, reset password (admin API and
CLI), the password policy, and the audit trail of every change."""

from __future__ import annotations

import json

import pytest
from ops_support import PASSWORD, create_operator, logged_in, login
from sqlalchemy import select
from typer.testing import CliRunner

from gateway.auth.password_policy import check_password
from gateway.cli import app
from gateway.errors import ValidationFailed

STRONG = "đồng-hồ-cát-chảy-chậm-7"


@pytest.mark.parametrize(
    ("password", "username"),
    [
        ("short-1A!", None),  # 9 characters
        ("password1234", None),  # leaked
        ("qwertyuiop12", None),  # keyboard row
        ("aaaaaaaaaaaaaaaa", None),  # repeat
        ("nguyenvanlan2026", "nguyenvanlan"),  # the user name and a year
    ],
)
def test_weak_passwords_are_refused(password, username) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_password(password, username=username)
    assert caught.value.findings[0]["code"] == "PASSWORD_WEAK"
    assert caught.value.message_en


def test_a_long_uncommon_password_is_accepted() -> None:
    check_password(STRONG, username="lan")
    check_password(PASSWORD, username="lan")


async def audit_actions(gw) -> list[str]:
    from gateway.audit.models import AuditEvent

    async with gw.db.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("operator.%"))
            .order_by(AuditEvent.seq)
        )
        return list(rows)


async def test_admin_api_manages_accounts(gw) -> None:
    admin = {"Authorization": f"Bearer {await create_operator(gw, 'root', 'admin')}"}
    base = "/api/v1/admin/operators"

    weak = await gw.http.post(base, json={"username": "lan", "password": "12345"}, headers=admin)
    assert weak.status_code == 422 and weak.json()["error"]["findings"][0]["code"] in (
        "REQUEST_INVALID",
        "PASSWORD_WEAK",
    )
    common = await gw.http.post(
        base, json={"username": "lan", "password": "password1234"}, headers=admin
    )
    assert common.status_code == 422
    assert common.json()["error"]["findings"][0]["code"] == "PASSWORD_WEAK"

    created = await gw.http.post(base, json={"username": "lan", "password": STRONG}, headers=admin)
    assert created.status_code == 201, created.text
    lan = {"Authorization": f"Bearer {created.json()['api_key']}"}
    assert created.json()["operator"]["has_password"] is True
    assert (await gw.http.get("/api/v1/admin/deliveries", headers=lan)).status_code == 200
    assert (await gw.http.get(base, headers=lan)).status_code == 403  # not an admin

    listed = {o["username"]: o for o in (await gw.http.get(base, headers=admin)).json()}
    assert listed["lan"]["role"] == "operator" and listed["lan"]["active"] is True
    assert listed["lan"]["api_keys"] == 1

    off = await gw.http.patch(
        f"{base}/lan", json={"active": False, "reason": "nghỉ phép"}, headers=admin
    )
    assert off.status_code == 200 and off.json()["active"] is False
    assert (await gw.http.get("/api/v1/admin/deliveries", headers=lan)).status_code == 401
    on = await gw.http.patch(f"{base}/lan", json={"active": True}, headers=admin)
    assert on.json()["active"] is True
    assert (await gw.http.get("/api/v1/admin/deliveries", headers=lan)).status_code == 200

    promoted = await gw.http.patch(f"{base}/lan", json={"role": "admin"}, headers=admin)
    assert promoted.json()["role"] == "admin"
    assert (await gw.http.get(base, headers=lan)).status_code == 200

    reset = await gw.http.post(
        f"{base}/lan/password", json={"password": "abc123abc123"}, headers=admin
    )
    assert reset.status_code == 422
    reset = await gw.http.post(
        f"{base}/lan/password", json={"password": STRONG + "!", "reason": "quên"}, headers=admin
    )
    assert reset.status_code == 200

    missing = await gw.http.patch(f"{base}/nobody", json={"active": False}, headers=admin)
    assert missing.status_code == 404

    assert await audit_actions(gw) == [
        "operator.created",
        "operator.created",
        "operator.disabled",
        "operator.enabled",
        "operator.role_changed",
        "operator.password_reset",
    ]


async def test_the_last_active_admin_stays(gw) -> None:
    admin = {"Authorization": f"Bearer {await create_operator(gw, 'root', 'admin')}"}
    base = "/api/v1/admin/operators"
    for change in ({"active": False}, {"role": "operator"}):
        r = await gw.http.patch(f"{base}/root", json=change, headers=admin)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "CONFLICT"
    await create_operator(gw, "second", "admin")
    r = await gw.http.patch(f"{base}/root", json={"role": "operator"}, headers=admin)
    assert r.status_code == 200


async def test_disable_and_password_reset_end_dashboard_sessions(gw) -> None:
    admin = {"Authorization": f"Bearer {await create_operator(gw, 'root', 'admin')}"}
    await logged_in(gw, "lan")
    assert (await gw.http.get("/dashboard/")).status_code == 200
    r = await gw.http.post(
        "/api/v1/admin/operators/lan/password", json={"password": STRONG}, headers=admin
    )
    assert r.status_code == 200
    assert (await gw.http.get("/dashboard/")).status_code in (303, 307)  # back to login
    assert (await login(gw.http, "lan")).status_code != 303  # the old password is gone
    assert (await login(gw.http, "lan", STRONG)).status_code == 303
    await gw.http.patch("/api/v1/admin/operators/lan", json={"active": False}, headers=admin)
    assert (await gw.http.get("/dashboard/")).status_code in (303, 307)


# --------------------------------------------------------------------------------- the CLI
def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def test_cli_manages_accounts(cli_env) -> None:
    assert run("operators", "create", "root", "--role", "admin").exit_code == 0
    assert run("operators", "create", "lan").exit_code == 0

    [lan, root] = json.loads(run("operators", "list", "--json").stdout)  # by user name
    assert (root["username"], root["role"], lan["username"]) == ("root", "admin", "lan")

    assert run("operators", "disable", "lan", "--reason", "nghỉ việc").exit_code == 0
    assert run("operators", "role", "lan", "admin").exit_code == 0
    [lan, _] = json.loads(run("operators", "list", "--json").stdout)
    assert (lan["active"], lan["role"]) == (False, "admin")
    assert run("operators", "enable", "lan").exit_code == 0

    weak = run("operators", "reset-password", "lan", "--password-stdin", input="password1234\n")
    assert weak.exit_code == 1 and weak.stderr.startswith("VALIDATION_FAILED: Mật khẩu")
    ok = run("operators", "reset-password", "lan", "--password-stdin", input=STRONG + "\n")
    assert ok.exit_code == 0, ok.output
    [lan, _] = json.loads(run("operators", "list", "--json").stdout)
    assert lan["has_password"] is True

    last = run("--lang", "en", "operators", "disable", "root")
    assert last.exit_code == 0  # lan is an active admin too
    refused = run("--lang", "en", "operators", "role", "lan", "operator")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == "CONFLICT: lan is the last active admin and cannot be demoted"


# --------------------------------------------------------------------------- the dashboard
async def test_dashboard_accounts_page_for_admins_only(gw) -> None:
    from ops_support import csrf_of

    await create_operator(gw, "minh")
    await logged_in(gw, "root", "admin")
    page = await gw.http.get("/dashboard/accounts")
    assert page.status_code == 200
    assert 'data-account="minh"' in page.text and 'href="/dashboard/accounts"' in page.text
    csrf = csrf_of(page.text)

    r = await gw.http.post(
        "/dashboard/accounts/minh/active", data={"csrf_token": csrf, "active": "0", "reason": "x"}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("flash=account_saved")
    weak = await gw.http.post(
        "/dashboard/accounts/minh/password", data={"csrf_token": csrf, "password": "123456789012"}
    )
    assert weak.headers["location"].endswith("flash=weak_password")
    last = await gw.http.post(
        "/dashboard/accounts/root/role", data={"csrf_token": csrf, "role": "operator"}
    )
    assert last.headers["location"].endswith("flash=last_admin")
    forged = await gw.http.post(
        "/dashboard/accounts/minh/active", data={"csrf_token": "forged", "active": "1"}
    )
    assert forged.status_code == 403
    shown = await gw.http.get("/dashboard/accounts?flash=account_saved")
    assert "đã khóa" in shown.text and "Đã lưu thay đổi tài khoản." in shown.text
    changes = [a for a in await audit_actions(gw) if a not in ("operator.login", "operator.logout")]
    assert changes == ["operator.created", "operator.created", "operator.disabled"]

    gw.http.cookies.clear()
    await logged_in(gw, "lan")  # an operator, not an admin
    assert (await gw.http.get("/dashboard/accounts")).status_code == 403
    assert 'href="/dashboard/accounts"' not in (await gw.http.get("/dashboard/")).text


# ---------------------------------------------------------------- the second factor (TOTP)
async def test_totp_second_factor_for_dashboard_logins(gw) -> None:
    from datetime import UTC, datetime, timedelta

    import pyotp

    moment = datetime(2026, 12, 1, 3, 0, 10, tzinfo=UTC)
    gw.app.state.clock = lambda: moment
    admin = {"Authorization": f"Bearer {await create_operator(gw, 'root', 'admin')}"}
    await create_operator(gw, "lan")
    enrolled = await gw.http.post("/api/v1/admin/operators/lan/totp", headers=admin)
    assert enrolled.status_code == 201, enrolled.text
    secret = enrolled.json()["secret"]
    assert enrolled.json()["uri"].startswith("otpauth://totp/")
    code = pyotp.TOTP(secret).at(moment)

    assert (await login(gw.http, "lan")).status_code == 401  # password alone
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert (await login(gw.http, "lan", code=wrong)).status_code == 401
    assert (await login(gw.http, "lan", code=code)).status_code == 303
    gw.http.cookies.clear()
    assert (await login(gw.http, "lan", code=code)).status_code == 401  # no replay
    later = moment + timedelta(seconds=30)
    gw.app.state.clock = lambda: later
    assert (await login(gw.http, "lan", code=pyotp.TOTP(secret).at(later))).status_code == 303

    listed = {
        o["username"]: o
        for o in (await gw.http.get("/api/v1/admin/operators", headers=admin)).json()
    }
    assert listed["lan"]["totp"] is True and listed["root"]["totp"] is False
    off = await gw.http.delete("/api/v1/admin/operators/lan/totp", headers=admin)
    assert off.status_code == 200 and off.json()["totp"] is False
    gw.http.cookies.clear()
    assert (await login(gw.http, "lan")).status_code == 303
    actions = await audit_actions(gw)
    assert "operator.totp_enabled" in actions and "operator.totp_disabled" in actions


def test_cli_totp(cli_env) -> None:
    assert run("operators", "create", "lan").exit_code == 0
    enrolled = run("operators", "totp", "lan")
    assert enrolled.exit_code == 0, enrolled.output
    assert enrolled.stdout.startswith("otpauth://totp/")
    [lan] = json.loads(run("operators", "list", "--json").stdout)
    assert lan["totp"] is True
    assert run("operators", "totp", "lan", "--off").exit_code == 0
    [lan] = json.loads(run("operators", "list", "--json").stdout)
    assert lan["totp"] is False
