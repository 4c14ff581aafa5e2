"""One line for a problem that stops a command or the server: what is wrong, which setting,
what to do. A traceback helps nobody who mistyped GATEWAY_DATABASE_URL; `--debug` still shows it.

Libraries are imported inside the checks only: this runs after the failure, and must not cost
`gateway --help` any time.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .plain_words import describe

Explainer = Callable[[BaseException, str], str | None]
_debug = False  # `gateway --debug …`: tracebacks wanted


def set_debugging(on: bool) -> None:
    global _debug
    _debug = on


def debugging() -> bool:
    return _debug


def _say(lang: str, vi: str, en: str) -> str:
    return en if lang == "en" else vi


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (SQLAlchemy's `orig`, `__cause__`, `__context__`)."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]
    return seen


def _database_url() -> str:
    """The URL the command was using, password hidden (best effort: settings may be broken)."""
    try:
        from sqlalchemy.engine import make_url

        from .settings import get_settings

        return make_url(get_settings().effective_database_url).render_as_string(hide_password=True)
    except Exception:
        return "GATEWAY_DATABASE_URL"


def _settings_invalid(exc: BaseException, lang: str) -> str | None:
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError) or exc.title != "Settings":
        return None
    parts = []
    for error in exc.errors():
        loc = error.get("loc") or ()
        detail = describe(error, lang)
        if not loc:  # a check across settings: its message names them
            parts.append(detail.removeprefix("Value error, "))
            continue
        name = "GATEWAY_" + str(loc[0]).upper()
        got = error.get("input")
        shown = "" if got is None or isinstance(got, dict) else f" ({got!r})"
        parts.append(f"{name}{shown}: {detail}")
    return _say(
        lang,
        f"Cấu hình sai: {'; '.join(parts)}. Sửa biến môi trường (hoặc tệp .env) rồi chạy lại.",
        f"Invalid configuration: {'; '.join(parts)}. Fix the environment variable "
        "(or .env file) and run again.",
    )


def _refused_settings(exc: BaseException, lang: str) -> str | None:
    if type(exc) is not ValueError:
        return None
    if str(exc).startswith("refusing"):
        return _say(
            lang,
            f"Cấu hình chưa an toàn cho môi trường production: {exc}.",
            f"Configuration not safe for production: {exc}.",
        )
    if "GATEWAY_" in str(exc):  # a check that names the setting it refuses
        return _say(lang, f"Cấu hình sai: {exc}.", f"Invalid configuration: {exc}.")
    return None


def _url_unparseable(exc: BaseException, lang: str) -> str | None:
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    example = "sqlite+aiosqlite:///path/gateway.sqlite3 | postgresql+asyncpg://user:pw@host/db"
    if isinstance(exc, NoSuchModuleError):
        return _say(
            lang,
            f"GATEWAY_DATABASE_URL dùng loại CSDL không hỗ trợ ({exc}); dùng {example}.",
            f"GATEWAY_DATABASE_URL names an unsupported database ({exc}); use {example}.",
        )
    if isinstance(exc, ArgumentError) and "URL" in str(exc):
        return _say(
            lang,
            f"Không đọc được GATEWAY_DATABASE_URL; dạng đúng: {example}.",
            f"GATEWAY_DATABASE_URL cannot be parsed; expected {example}.",
        )
    return None


def _driver_missing(exc: BaseException, lang: str) -> str | None:
    for e in _causes(exc):
        if isinstance(e, ModuleNotFoundError) and e.name in ("psycopg", "psycopg2", "pysqlite2"):
            return _say(
                lang,
                f"GATEWAY_DATABASE_URL cần trình điều khiển {e.name}, không được cài: dùng "
                "postgresql+asyncpg://… hoặc sqlite+aiosqlite:///….",
                f"GATEWAY_DATABASE_URL needs the {e.name} driver, which is not installed: use "
                "postgresql+asyncpg://… or sqlite+aiosqlite:///….",
            )
    return None


_UNMIGRATED = re.compile(r"no such table|relation \"[^\"]+\" does not exist|UndefinedTable")


def _not_migrated(exc: BaseException, lang: str) -> str | None:
    from sqlalchemy.exc import DBAPIError

    from .migration_state import NotMigrated

    if isinstance(exc, NotMigrated):
        return _say(
            lang,
            f"Cơ sở dữ liệu {_database_url()} chưa đúng phiên bản lược đồ "
            f"({', '.join(exc.current) or 'chưa có bảng nào'}; cần {', '.join(exc.expected)}): "
            "chạy `gateway db upgrade` trước.",
            f"The database {_database_url()} is not at this version's schema "
            f"({', '.join(exc.current) or 'no tables yet'}; needs {', '.join(exc.expected)}): "
            "run `gateway db upgrade` first.",
        )
    if not any(
        isinstance(e, DBAPIError) or "UndefinedTable" in type(e).__name__ for e in _causes(exc)
    ):
        return None
    if not any(_UNMIGRATED.search(f"{type(e).__name__} {e}") for e in _causes(exc)):
        return None
    return _say(
        lang,
        f"Cơ sở dữ liệu {_database_url()} chưa được khởi tạo (thiếu bảng): chạy "
        "`gateway db upgrade` trước.",
        f"The database {_database_url()} is not migrated (tables missing): run "
        "`gateway db upgrade` first.",
    )


def _database_unreachable(exc: BaseException, lang: str) -> str | None:
    from sqlalchemy.exc import DBAPIError

    causes = _causes(exc)
    if not any(isinstance(e, DBAPIError | ConnectionError | TimeoutError) for e in causes) and not (
        any(type(e).__module__.startswith("asyncpg") for e in causes)
    ):
        return None
    reason = next(
        (f"{e}" for e in reversed(causes) if not isinstance(e, DBAPIError) and str(e)), str(exc)
    )
    return _say(
        lang,
        f"Không kết nối được cơ sở dữ liệu {_database_url()}: {reason}. Kiểm tra "
        "GATEWAY_DATABASE_URL và máy chủ CSDL có đang chạy.",
        f"Cannot reach the database {_database_url()}: {reason}. Check GATEWAY_DATABASE_URL "
        "and that the database server is running.",
    )


def _broker_url() -> str:
    try:
        from .delivery.broker import redact
        from .settings import get_settings

        return " " + redact(get_settings().broker_url or "")
    except Exception:
        return ""


def _broker_unreachable(exc: BaseException, lang: str) -> str | None:
    causes = _causes(exc)
    if not any(type(e).__module__.startswith(("aio_pika", "aiormq")) for e in causes):
        return None
    if not any(
        isinstance(e, ConnectionError | TimeoutError)
        or type(e).__name__ in ("AMQPConnectionError", "BrokerUnavailable")
        or "AuthenticationError" in type(e).__name__
        for e in causes
    ):
        return None  # the broker answered (e.g. refused a declaration): not a reachability issue
    # the library's reason rather than our wrapping (a cancelled wait says nothing)
    deepest = next((e for e in reversed(causes) if str(e).strip()), exc)
    reason = str(deepest).strip() or type(deepest).__name__
    return _say(
        lang,
        f"Không kết nối được RabbitMQ{_broker_url()} ({reason}). Kiểm tra GATEWAY_BROKER_URL "
        "(máy, cổng, người dùng, mật khẩu, vhost) và RabbitMQ có đang chạy; đã thử lại trong "
        "GATEWAY_DELIVERY_FATAL_AFTER_SECONDS giây.",
        f"Cannot reach RabbitMQ{_broker_url()} ({reason}). Check GATEWAY_BROKER_URL (host, port, "
        "user, password, vhost) and that RabbitMQ is running; retried for "
        "GATEWAY_DELIVERY_FATAL_AFTER_SECONDS seconds.",
    )


def _port_taken(exc: BaseException, lang: str) -> str | None:
    from .listen import PortUnavailable

    if not isinstance(exc, PortUnavailable):
        return None
    where = f"{exc.host}:{exc.port}"
    if exc.in_use:
        return _say(
            lang,
            f"Cổng {where} đang được tiến trình khác dùng: dừng tiến trình đó hoặc chọn "
            "--port / GATEWAY_PORT khác. Chưa khởi động gì.",
            f"Port {where} is used by another process: stop it or choose another --port / "
            "GATEWAY_PORT. Nothing was started.",
        )
    return _say(
        lang,
        f"Không mở được cổng {where} (errno {exc.errno}): kiểm tra --host / GATEWAY_HOST và "
        "quyền dùng cổng này.",
        f"Cannot listen on {where} (errno {exc.errno}): check --host / GATEWAY_HOST and the "
        "permission to use this port.",
    )


EXPLAINERS: tuple[Explainer, ...] = (
    _settings_invalid,
    _refused_settings,
    _url_unparseable,
    _driver_missing,
    _port_taken,
    _not_migrated,
    _broker_unreachable,
    _database_unreachable,
)


def explain(exc: BaseException, lang: str = "vi") -> str:
    for explainer in EXPLAINERS:
        try:
            line = explainer(exc, lang)
        except Exception:  # explaining must never hide the original problem
            line = None
        if line:
            return " ".join(line.split())
    what = f"{type(exc).__name__}: {exc}".strip()
    return _say(
        lang,
        f"Lỗi: {what}. Chạy lại với --debug để xem chi tiết.",
        f"Error: {what}. Run again with --debug for the details.",
    )
