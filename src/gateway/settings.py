"""All configuration of the gateway service, in one place.

Every field can be set from the environment with the `GATEWAY_` prefix (or a `.env` file in the
working directory), e.g. `GATEWAY_DATABASE_URL=postgresql+asyncpg://gw@db/gateway`.

Defaults run the embedded, zero-setup configuration: an SQLite file under `data_dir`, the service
on 127.0.0.1:8080, migrations applied automatically. `environment=production` refuses the
defaults that are only meant for trying the gateway out (see `Settings._refuse_insecure`).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .calendar import OfficeCalendar
from .edxml.exclusions import DEFAULT_RULES, ExclusionRule, extend, parse_rules
from .edxml.filetypes import parse_formats
from .edxml.limits import MIB, Limits
from .secretbox import SecretBox

EXAMPLE_NODE_CODE = "00.99.W00"
"""The default node code: an obviously-example provincial axis code (province "99")."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "production"] = "development"

    # --- storage -----------------------------------------------------------------------
    data_dir: Path = Path("./gateway-data")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL. Default: "
        "sqlite+aiosqlite:///<data_dir>/gateway.sqlite3. "
        "Production: postgresql+asyncpg://user:password@host/dbname",
    )
    auto_migrate: bool = True
    db_echo: bool = False
    sqlite_busy_timeout_ms: int = 30_000
    # PostgreSQL pool (gateway.db.create_engine): opening a connection costs milliseconds of
    # CPU on both sides, so the pool holds what the process uses at once and never has to
    # open connections under load; connections are recycled instead of pinged on checkout
    db_pool_size: int | None = Field(
        default=None,
        ge=1,
        description="connections kept per process; default: db_requests_in_flight plus the "
        "background tasks (relay, audit chainer, the in-process worker's worker_concurrency)",
    )
    db_requests_in_flight: int = Field(
        default=32, ge=1, description="requests one server process serves at once (pool sizing)"
    )
    db_pool_overflow: int = Field(default=8, ge=0, description="extra connections for bursts")
    db_pool_recycle_seconds: float = Field(
        default=1800, gt=0, description="replace a connection this old (instead of pre-ping)"
    )
    db_pool_timeout_seconds: float = Field(default=30, gt=0)
    # --- API-key authentication cache (gateway.auth.cache) ----------------------------------
    auth_cache_seconds: float = Field(
        default=60,
        ge=0,
        description="how long a resolved API key is reused without reading the database "
        "(0: never cached); revocations end it sooner, see auth_cache_check_seconds",
    )
    auth_cache_check_seconds: float = Field(
        default=1.0,
        gt=0,
        description="how often a process reads the credentials' generation counter: a key "
        "revoked or a system disabled by another process stops working within this time",
    )

    # --- HTTP ------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = Field(default=64 * MIB, gt=0)
    max_json_body_bytes: int = Field(
        default=64 * 1024, gt=0, description="cap on JSON and form bodies (admin, dashboard)"
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="a request body silent this long between chunks: 408"
    )
    inbox_page_max: int = 500

    # --- identity of this node ---------------------------------------------------------
    node_code: str = Field(
        default=EXAMPLE_NODE_CODE,
        description="This gateway's own OrganId, written in the TraceHeader it appends.",
    )

    # --- edXML limits (see gateway.edxml.limits.Limits) ---------------------------------
    edxml_max_attachment_bytes: int = 25 * MIB
    edxml_max_depth: int = 64
    edxml_max_zip_entries: int = 100
    edxml_max_zip_expanded_bytes: int = 100 * MIB
    edxml_max_package_expanded_bytes: int = 256 * MIB
    edxml_max_recipients: int = 5000
    # packages above this size (or of unknown size) take one of a few large-intake slots
    # (gateway.intake_gate): eight 58 MiB packages at once must not add a GB of memory
    large_intake_bytes: int = Field(default=8 * MIB, gt=0)
    large_intake_slots: int = Field(default=2, gt=0)
    large_intake_wait_seconds: float = Field(default=30.0, ge=0)
    # attachment formats accepted, comma-separated ("*": any format that is not dangerous;
    # executables and scripts are always refused), see gateway.edxml.filetypes
    allowed_attachment_formats: str = "txt,odt,rtf,doc,docx,xls,xlsx,ppt,pptx,pdf,zip"
    # JSON list of rules adding to the built-in exclusions (secret documents, complaints),
    # see gateway.edxml.exclusions; re-read when the file changes
    exclusion_rules_file: Path | None = None

    # --- office calendar (legal receipt time), fed to OfficeCalendar.from_config --------
    office_periods: str = "07:30-11:30,13:30-17:00"
    office_weekdays: str = "mon-fri"
    office_holidays: str = ""
    office_extra_working_days: str = ""
    office_timezone: str = "Asia/Ho_Chi_Minh"
    # public holidays of this country (`holidays` package; "" = none), operators' changes on top
    office_public_holidays: str = "VN"

    # --- secrets stored encrypted (push and VXP shared secrets), see gateway.secretbox ----
    secrets_key: str | None = Field(
        default=None,
        description="Fernet key(s), comma-separated, newest first. Development generates one "
        "into <data_dir>/secrets.key; production requires it.",
    )

    backup_key: SecretStr | None = Field(
        default=None,
        description="32 bytes, URL-safe base64 (`gateway backups keygen`): encrypts backups "
        "(gateway.ops.backup_vault); from a secret, never stored with the backups",
    )

    bootstrap_admin_key: SecretStr | None = Field(
        default=None,
        description="First start of a deployment: when no operator exists yet, create operator "
        "`admin` holding this API key (≥ 32 characters, from the deployment's secret).",
    )

    # --- signatures (gateway.trust) --------------------------------------------------------
    signature_policy: Literal["warn", "require"] | None = Field(
        default=None,
        description="Unset: `require` for documents in production (status packages `warn`), "
        "`warn` in development (gateway.trust.runtime.policy_from).",
    )
    signature_policy_overrides: dict[str, Literal["warn", "require"]] = Field(
        default_factory=dict,
        description='Per document type, e.g. {"Công văn": "require", "status": "warn"} '
        '(keys: DocumentType/TypeName, or "<Type>.<TypeDetail>", or "status").',
    )
    signature_document_file_policy: Literal["warn", "require"] = Field(
        default="warn",
        description="`require`: the main document file (first attachment) must be a validly "
        "signed PDF (gateway.packages.document_files); `warn` records each file's signature.",
    )
    trust_bundle: Path | None = Field(
        default=None, description="PEM bundle of the CA roots and intermediates agencies use."
    )
    trust_crls: list[Path] = Field(default_factory=list, description="CRL files (PEM or DER).")
    signing_key_file: Path | None = Field(
        default=None,
        description="The gateway's own private key (PEM). Default: <data_dir>/keys/, "
        "created by `gateway keys init`.",
    )
    signing_cert_file: Path | None = None
    max_concurrent_verifications: int = Field(default=2, ge=1)

    # --- client certificates forwarded by a TLS-terminating proxy ------------------------
    client_cert_header: str | None = Field(
        default=None,
        description="Name of the header in which the TLS-terminating proxy forwards the "
        "verified client certificate identity (SHA-256 fingerprint or subject DN). "
        "None disables certificate authentication.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="Peers (IP or CIDR) whose client_cert_header is believed.",
    )

    # --- operators: dashboard, metrics, logs (gateway.ops) --------------------------------
    dashboard_enabled: bool = Field(default=True, description="serve the dashboard at /dashboard")
    dashboard_session_hours: float = Field(
        default=8.0, gt=0, description="a dashboard login lasts at most this long"
    )
    dashboard_idle_minutes: float = Field(
        default=30.0, gt=0, description="…and ends after this long without a request"
    )
    dashboard_login_max_failures: int = Field(
        default=5, ge=1, description="failed logins for one user name before a lockout"
    )
    dashboard_login_lockout_minutes: float = Field(
        default=15.0, gt=0, description="the window counting failures, and the lockout"
    )
    dashboard_cookie_secure: bool | None = Field(
        default=None,
        description="Secure flag of the session cookie; None: set when the request is https "
        "(behind a TLS-terminating proxy that speaks http to the gateway, set true)",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="when set, GET /metrics wants `Authorization: Bearer <token>`; in "
        "production /metrics is closed (401) until it is set",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per line, with request_id"
    )
    log_level: str = "info"
    worker_metrics_port: int | None = Field(
        default=None,
        description="`gateway worker`: serve its delivery counters at http://<host>:<port>/metrics "
        "(the API's /metrics has the database gauges; a stand-alone worker's attempts, retries "
        "and dead letters are counted in the worker process)",
    )

    # --- delivery: outbox relay, queue transport, workers, push (gateway.delivery) -------
    # No broker_url (None or "") = the embedded database queue: `gateway serve` alone relays
    # and delivers. With RabbitMQ, run `gateway relay` and `gateway worker` (or keep the relay
    # in the server process with relay_in_process).
    broker_url: str | None = Field(
        default=None, description="amqp://user:password@host/vhost; None or empty: DB queue"
    )
    broker_prefix: str = Field(default="gateway", description="prefix of queue/exchange names")
    broker_connect_timeout: float = Field(default=10.0, gt=0)
    broker_publish_timeout: float = Field(default=10.0, gt=0)
    delivery_retry_tiers: str = Field(
        default="30,120,600,1800,3600,7200,14400",
        description="retry waits in seconds, increasing (one RabbitMQ TTL queue each)",
    )
    delivery_max_total_seconds: float = Field(
        default=86_400, gt=0, description="stop retrying a delivery after this long (24 h)"
    )
    delivery_max_attempts: int | None = Field(default=None, ge=1)
    delivery_jitter: float = Field(default=0.2, ge=0, lt=1)
    push_connect_timeout: float = Field(default=5.0, gt=0)
    push_read_timeout: float = Field(default=30.0, gt=0)
    push_endpoint_concurrency: int = Field(default=4, ge=1)
    push_breaker_failures: int = Field(default=5, ge=1)
    push_breaker_cooldown_seconds: float = Field(default=60.0, gt=0)
    push_breaker_max_cooldown_seconds: float = Field(default=900.0, gt=0)
    relay_in_process: bool = True
    worker_in_process: bool | None = Field(
        default=None, description="default: True only in embedded mode (no broker_url)"
    )
    worker_concurrency: int = Field(default=8, ge=1)
    worker_grace_seconds: float = Field(default=30.0, ge=0)
    relay_batch_size: int = Field(default=100, ge=1)
    relay_poll_interval: float = Field(
        default=0.25, gt=0, description="the relay's outbox poll without LISTEN (SQLite)"
    )
    relay_sweep_interval: float = Field(
        default=5.0,
        gt=0,
        description="PostgreSQL: the relay's outbox sweep while LISTEN wakes it on commit",
    )
    audit_chain_interval: float = Field(
        default=0.5, gt=0, description="seconds between the server's audit chaining passes"
    )
    # --- audit chain anchoring (gateway.audit.anchor, gateway.audit.checkpoints) ---------
    audit_anchor_key: SecretStr | None = Field(
        default=None,
        description="HMAC key(s) signing audit checkpoints, ≥ 32 characters, comma-separated, "
        "newest first; kept outside the database. Development generates one into "
        "<data_dir>/audit-anchor.key; production requires it.",
    )
    audit_checkpoint_every_events: int = Field(
        default=1000, ge=1, description="a signed checkpoint after this many chained events"
    )
    audit_checkpoint_every_seconds: float = Field(
        default=300.0, gt=0, description="…or when events were chained this long after the last"
    )
    db_queue_lease_seconds: float = Field(
        default=15.0,
        gt=0,
        description="embedded queue: a claimed job returns this long after its consumer stops "
        "renewing the lease (a heartbeat renews it every third of it while the job runs)",
    )
    delivery_fatal_after_seconds: float = Field(
        default=120.0, gt=0, description="relay/worker exit non-zero after losing DB/broker so long"
    )

    # --- outage incidents (gateway.outages; docs/operations.md) ---------------------------
    outage_threshold_working_hours: float = Field(
        default=4.0,
        gt=0,
        description="an agency endpoint (or the upstream link) failing for more than this many "
        "working hours (office calendar) raises an outage incident",
    )
    outage_urgent_threshold_working_hours: float = Field(
        default=1.0,
        gt=0,
        description="…or for more than this many when a hỏa tốc (hẹn giờ) document is waiting",
    )
    inbox_stale_working_hours: float = Field(
        default=8.0,
        gt=0,
        description="a poll-mode agency whose oldest inbox copy waited longer than this many "
        "working hours is flagged (dashboard, GET /admin/outages/stale-inboxes)",
    )
    gateway_downtime_min_seconds: float = Field(
        default=300.0,
        gt=0,
        description="no server running for longer than this is recorded as the gateway's "
        "own downtime at the next start (heartbeats every 30 s)",
    )
    outage_monitor_interval: float = Field(
        default=60.0,
        ge=0,
        description="seconds between the server's outage checks; 0 = not in this process",
    )

    # --- e-mail: outage notices (gateway.outages.mailer; docs/operations.md) ---------------
    smtp_host: str | None = Field(default=None, description="None: no e-mail is sent")
    smtp_port: int = 587
    smtp_starttls: bool = Field(default=True, description="upgrade with STARTTLS (production)")
    smtp_ca_file: Path | None = Field(
        default=None, description="CA bundle for the SMTP server's certificate (default: system)"
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "truc-lien-thong@localhost"
    smtp_timeout: float = Field(default=30.0, gt=0)
    outage_notify_emails: list[str] = Field(
        default_factory=list, description="operators' addresses told about every incident"
    )

    @property
    def embedded_queue(self) -> bool:
        return not self.broker_url

    @property
    def effective_db_pool_size(self) -> int:
        if self.db_pool_size is not None:
            return self.db_pool_size
        background = 2 + (self.worker_concurrency if self.run_worker_in_process else 0)
        return self.db_requests_in_flight + background

    @property
    def run_worker_in_process(self) -> bool:
        return self.embedded_queue if self.worker_in_process is None else self.worker_in_process

    # --- national axis (VXP): the SDK-compatible server face and the upstream connector ----
    # (gateway.axis; operator guide: docs/vxp.md). Agency systems built on the official SDK
    # point their `service.endpoint` at https://<gateway><vxp_prefix>. With upstream_url set,
    # recipients outside the province are forwarded to the national axis and a poller fetches
    # what the national axis holds for the province's agencies.
    vxp_prefix: str = Field(
        default="/vxp",
        description='Path prefix of the VXP routes ("" = the root, e.g. for a dedicated '
        'listener: a second `gateway serve --port …` with GATEWAY_VXP_PREFIX="").',
    )
    vxp_max_skew_seconds: float | None = Field(
        default=None,
        gt=0,
        le=7 * 24 * 3600,
        description="opt-in: accepted age (either way) of a request's timestamp for every VXP "
        "system; None = not checked (the official SDK stamps once per object, docs/vxp.md)",
    )
    upstream_url: str | None = Field(
        default=None,
        description="Endpoint of the national axis (the SDK's service.endpoint); "
        "None = no national connector (unknown recipients are refused).",
    )
    upstream_system_id: str | None = Field(
        default=None, description="This node's system id on the national axis, e.g. 00.53.W00"
    )
    upstream_secret: SecretStr | None = None
    upstream_local_groups: list[str] = Field(
        default_factory=list,
        description='Level-1 code groups of this province (e.g. ["H53", "A53"]); a recipient '
        "code of another group is forwarded upstream. Default: H<NN> from node_code 00.NN.W00.",
    )
    upstream_timeout: float = Field(default=60.0, gt=0)
    upstream_forward_interval: float = Field(default=5.0, gt=0)
    upstream_poll_interval: float = Field(default=60.0, gt=0)
    upstream_max_attempts: int = Field(default=20, ge=1)
    upstream_retry_base_seconds: float = Field(default=30.0, gt=0)
    upstream_retry_max_seconds: float = Field(default=3600.0, gt=0)
    upstream_lease_seconds: float = Field(default=300.0, gt=0)
    agency_sync_interval: float = Field(
        default=0, ge=0, description="seconds between registry syncs from upstream; 0 = off"
    )
    agency_sync_auto_apply: bool = Field(
        default=False, description="scheduled sync applies additions/changes (never deletes)"
    )
    connector_in_server: bool = Field(
        default=True, description="run the connector in `gateway serve` when upstream_url is set"
    )

    @model_validator(mode="after")
    def _check_upstream(self) -> Settings:
        if self.upstream_url and not (self.upstream_system_id and self.upstream_secret):
            raise ValueError("upstream_url needs upstream_system_id and upstream_secret")
        return self

    @property
    def local_code_groups(self) -> frozenset[str]:
        if self.upstream_local_groups:
            return frozenset(g.strip().upper() for g in self.upstream_local_groups if g.strip())
        parts = self.node_code.split(".")
        if len(parts) == 3 and parts[1].isdigit():
            return frozenset({f"H{int(parts[1]):02d}"})
        return frozenset()

    @model_validator(mode="after")
    def _check(self) -> Settings:
        for net in self.trusted_proxies:
            ipaddress.ip_network(net, strict=False)
        self.office_calendar()  # raises ValueError on a bad calendar
        self.edxml_limits()  # raises ValueError on a bad exclusion rules file
        if self.environment == "production":
            self._refuse_insecure()
        return self

    def _refuse_insecure(self) -> None:
        problems = []
        if self.node_code == EXAMPLE_NODE_CODE:
            problems.append(f"GATEWAY_NODE_CODE is the example code {EXAMPLE_NODE_CODE}")
        if not self.database_url:
            problems.append("GATEWAY_DATABASE_URL is not set (the SQLite default is for trials)")
        if self.client_cert_header and any(
            ipaddress.ip_network(n, strict=False).prefixlen == 0 for n in self.trusted_proxies
        ):
            problems.append("GATEWAY_TRUSTED_PROXIES trusts every address")
        if self.smtp_host and not self.smtp_starttls:
            problems.append("GATEWAY_SMTP_STARTTLS is off (e-mail would travel in clear)")
        if problems:
            raise ValueError("refusing insecure settings in production: " + "; ".join(problems))

    def check_service_runtime(self) -> None:
        """What a production service process (not `db upgrade`) needs besides the basics."""
        if self.environment != "production":
            return
        problems = []
        if not self.secrets_key:
            problems.append("GATEWAY_SECRETS_KEY is not set")
        if not self.audit_anchor_key:
            problems.append("GATEWAY_AUDIT_ANCHOR_KEY is not set (audit checkpoints)")
        if not (self.signing_key_file and self.signing_cert_file):
            problems.append("GATEWAY_SIGNING_KEY_FILE / GATEWAY_SIGNING_CERT_FILE are not set")
        if not self.trust_bundle:
            problems.append("GATEWAY_TRUST_BUNDLE is not set (signatures cannot be verified)")
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))

    # --- derived values ----------------------------------------------------------------
    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'gateway.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def edxml_limits(self) -> Limits:
        return Limits(
            max_package_bytes=self.max_body_bytes,
            max_attachment_bytes=self.edxml_max_attachment_bytes,
            max_depth=self.edxml_max_depth,
            max_zip_entries=self.edxml_max_zip_entries,
            max_zip_expanded_bytes=self.edxml_max_zip_expanded_bytes,
            max_package_expanded_bytes=self.edxml_max_package_expanded_bytes,
            max_recipients=self.edxml_max_recipients,
            allowed_formats=parse_formats(self.allowed_attachment_formats),
            exclusions=exclusion_rules(self.exclusion_rules_file),
        )

    def secret_box(self) -> SecretBox:
        return SecretBox.from_config(self.secrets_key, self.data_dir)

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    def office_calendar(self) -> OfficeCalendar:
        return OfficeCalendar.from_config(
            periods=self.office_periods,
            weekdays=self.office_weekdays,
            holidays=self.office_holidays,
            extra_working_days=self.office_extra_working_days,
            timezone=self.office_timezone,
            public_holidays=self.office_public_holidays,
        )


def exclusion_rules(path: Path | None) -> tuple[ExclusionRule, ...]:
    """Built-in exclusions plus the operator's file (cached until the file changes)."""
    if path is None:
        return DEFAULT_RULES
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ValueError(f"exclusion_rules_file: {exc}") from None
    return _exclusion_rules(path, mtime)


@lru_cache(maxsize=8)
def _exclusion_rules(path: Path, _mtime: int) -> tuple[ExclusionRule, ...]:
    return extend(DEFAULT_RULES, parse_rules(path.read_bytes()))


@lru_cache
def get_settings() -> Settings:
    """Settings from the environment, for the CLI. The app factory takes settings explicitly."""
    return Settings()
