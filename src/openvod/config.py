"""One typed settings object. Nothing else in OpenVOD reads ``os.environ``.

Sources, strongest first: explicit overrides (CLI flags), ``OPENVOD_*`` environment variables,
an ``openvod.toml`` (in the working directory, or the file named by ``OPENVOD_CONFIG``), defaults.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Settings", "load_settings"]


def _config_file() -> Path:
    return Path(os.environ.get("OPENVOD_CONFIG", "openvod.toml"))


class Settings(BaseSettings):
    """OpenVOD's configuration. Refuses bad values at start."""

    model_config = SettingsConfigDict(env_prefix="OPENVOD_", extra="ignore")

    data_dir: Path = Path("./openvod-data")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # Seconds `serve` lets requests in flight finish after SIGTERM/SIGINT; then the rest (slow
    # uploads, long-polls) are cancelled: a tus PATCH keeps what it has written, and the process exits.
    shutdown_timeout: int = Field(default=10, ge=1, le=3600)
    # Log lines of `serve` and `worker` (openvod/logs.py): "text" to read, "json" (one object a line) to collect.
    log_format: Literal["text", "json"] = "text"
    # GET /metrics answers `Authorization: Bearer <this>` (docs/operations.md); unset: no /metrics.
    metrics_token: SecretStr | None = Field(default=None, min_length=16)
    public_url: str | None = None
    # A second origin (another host name pointing at this server) for user objects: signed
    # /files and /objects URLs and HLS key grants are made on it. Recommended in production.
    media_url: str | None = None
    database_url: str | None = None  # default: SQLite in data_dir

    secret_id: str | None = None
    secret_key: str | None = None

    storage: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str = "us-east-1"
    s3_bucket_prefix: str = ""
    s3_part_size: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    # The region S3 clients of the /s3 gateway must sign for ("*": any region). boto3, the AWS
    # CLI and most S3 tools default to us-east-1.
    s3_gateway_region: str = Field(default="us-east-1", pattern=r"^(\*|[a-z0-9-]{1,64})$")

    default_bucket: str = "vod"
    ffmpeg: str | None = None  # a system FFmpeg; default: the binary shipped with imageio-ffmpeg
    ffmpeg_timeout: float = Field(default=3600.0, gt=0)
    probe_timeout: float = Field(default=60.0, gt=0)  # also the probe's CPU-seconds limit
    # Largest decoded frame (width x height) the probe and FFmpeg accept; 8192x8192 by default.
    max_pixels: int = Field(default=8192 * 8192, ge=64 * 64, le=2**31 - 1)
    # Address-space limits (RLIMIT_AS) of the probe worker and of each FFmpeg run; 0 = no limit
    # for FFmpeg. Encoders reserve much more than they use (SVT-AV1 at 4K: ~8.3 GB).
    probe_memory_mb: int = Field(default=1024, ge=256)
    ffmpeg_memory_mb: int = Field(default=16384, ge=0)

    upload_expire_hours: float = Field(default=24.0, gt=0)
    upload_max_size: int = Field(default=64 * 1024**3, gt=0)
    # How long ApplyUpload's VodSessionKey and temporary COS credentials stay valid (seconds).
    cos_upload_ttl: int = Field(default=3600, ge=60, le=7 * 86400)
    pull_allow_private: bool = False
    pull_max_size: int = Field(default=8 * 1024**3, gt=0)
    pull_timeout: float = Field(default=600.0, gt=0)
    # Request bodies of the native JSON API and console (api/limits.py): refused with 413 past
    # this size, before being read when Content-Length says so; JSON deeper than the depth is 400.
    request_max_body: int = Field(default=1024 * 1024, ge=64 * 1024)
    request_max_json_depth: int = Field(default=32, ge=4, le=256)
    signing_key: str | None = None  # for signed URLs; default derived per data dir
    # AES-GCM key sealing the secrets stored in the database (SecretKeys, callback secrets);
    # default <data_dir>/master.key, created 0600 on first start. Keep it off database backups.
    master_key_file: Path | None = None
    # Lets the web console sign in with this password instead of a key pair; it then acts as the
    # default app. Unset (the default): key pairs only.
    console_password: SecretStr | None = None
    # Failed console sign-ins allowed per client address and per SecretId (or the password) in a
    # sliding window; beyond them sign-in answers 429 until the window frees a slot.
    signin_max_failures_per_client: int = Field(default=10, ge=1)
    signin_max_failures_per_secret_id: int = Field(default=5, ge=1)
    signin_window_seconds: float = Field(default=600.0, gt=0)
    playback_url_ttl: int = Field(default=86400, ge=60)  # seconds a signed playback URL stays valid
    # A cover snapshot for every uploaded video that has none (a CoverBySnapshot task after the
    # upload, unless the upload's flow makes a cover itself).
    auto_cover: bool = True

    # engine
    # Which executor runs steps (engine/executor.py): "local", a process pool inside the server
    # with ``workers`` processes (0: this server runs no steps); "celery", `openvod worker`
    # processes on any machine fed through the broker (docs/scaling.md; pip install openvod[scale]).
    executor: Literal["local", "celery"] = "local"
    # The Celery broker (executor=celery): redis://host:port/db, or rediss:// for TLS.
    broker_url: str | None = None
    celery_queue: str = Field(default="openvod", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    workers: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2) // 2), ge=0, le=256)
    lease_seconds: float = Field(default=30.0, ge=1.0)
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=100)
    job_timeout: float = Field(default=6 * 3600.0, gt=0)
    # Per app (tenant). Free workers always go to the app with the fewest steps running (see
    # engine/fair.py); the cap also keeps workers free for apps whose work arrives later.
    app_max_queued_tasks: int = Field(default=10_000, ge=1)  # tasks waiting to start; more: 429
    app_max_running_steps: int = Field(default=0, ge=0)  # steps running at once; 0 = no cap
    # Chunk-parallel encoding (docs/scaling.md): a transcode of one constant-frame-rate source longer
    # than this many seconds is encoded as segments on any free workers, its audio once, then
    # joined without re-encoding. 0 = off (one step per transcode).
    chunk_seconds: float = Field(default=0, ge=0)
    # Threads of each transcode's FFmpeg (decoder, filters, encoder); 0 = FFmpeg's choice (all cores).
    ffmpeg_threads: int = Field(default=0, ge=0, le=256)

    # events
    callback_allowlist: list[str] = Field(default_factory=list)  # hosts; empty = any but link-local
    # Lets apps other than the default one push to loopback/private addresses (the default app
    # always may: on-prem receivers). Off: a tenant cannot aim the server at the internal network.
    callback_allow_private: bool = False
    push_retry_hours: float = Field(default=24.0, gt=0)
    push_timeout: float = Field(default=10.0, gt=0)
    push_backoff_base: float = Field(default=2.0, gt=0)  # seconds; doubles per failed attempt, capped at 1 h
    pull_redeliver_seconds: float = Field(default=30.0, gt=0)
    pull_wait_seconds: float = Field(default=5.0, ge=0, le=60)
    event_retention_days: float = Field(default=4.0, gt=0)
    # Finished tasks (succ, fail, canceled) are deleted this long after they finished, with their
    # steps; 0 keeps them for ever. Outputs belong to their media and stay. services/retention.py.
    task_retention_days: float = Field(default=90.0, ge=0)

    # compatibility APIs
    # The IANA time zone of Kingsoft's "YYYY-MM-DD HH:MM:SS" times (createTime, updateTime) and of
    # the days its startdate/enddate name. The manual's examples are China time (Asia/Shanghai): each
    # GetTaskList createTime is its srcInfo "aaa" (epoch ms) plus 8 hours.
    compat_timezone: str = "UTC"

    @field_validator("public_url", "media_url")
    @classmethod
    def _strip_slash(cls, v: str | None) -> str | None:
        return v.rstrip("/") if v else v

    @field_validator("console_password")
    @classmethod
    def _long_password(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 12:
            raise ValueError("console_password must be at least 12 characters")
        return v

    @field_validator("compat_timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            _zone(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"compat_timezone must be an IANA time zone name such as UTC or Asia/Shanghai, "
                             f"got {v[:64]!r}") from exc
        return v

    @field_validator("host")
    @classmethod
    def _valid_host(cls, v: str) -> str:
        if v != "localhost":
            try:
                ipaddress.ip_address(v)
            except ValueError as exc:
                raise ValueError(f"host must be an IP address or 'localhost', got {v!r}") from exc
        return v

    @model_validator(mode="after")
    def _s3_complete(self) -> Settings:
        if self.storage == "s3" and not self.s3_endpoint_url:
            raise ValueError("storage=s3 needs OPENVOD_S3_ENDPOINT_URL")
        if self.executor == "celery" and not (self.broker_url or "").startswith(("redis://", "rediss://")):
            raise ValueError("executor=celery needs OPENVOD_BROKER_URL=redis://host:port/db (or rediss://)")
        if bool(self.secret_id) != bool(self.secret_key):
            raise ValueError("set both OPENVOD_SECRET_ID and OPENVOD_SECRET_KEY, or neither")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_config_file()),
        )

    @property
    def compat_zone(self) -> tzinfo:
        """:attr:`compat_timezone` as a time zone."""
        return _zone(self.compat_timezone)

    @property
    def master_key_path(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'openvod.db').resolve()}"

    @model_validator(mode="after")
    def _media_origin_apart(self) -> Settings:
        if not self.media_url:
            return self
        media = urlsplit(self.media_url)
        if media.scheme not in ("http", "https") or not media.hostname or media.query or media.fragment:
            raise ValueError(f"media_url must be http(s)://host[:port][/prefix], got {self.media_url!r}")
        # Cookies ignore ports: a media origin on the console's host name would still see them.
        if media.hostname == urlsplit(self.base_url).hostname:
            raise ValueError(f"media_url must use another host name than public_url ({self.base_url})")
        return self

    @property
    def media_base_url(self) -> str:
        """The absolute URL user objects are served at: ``media_url``, else :attr:`base_url`."""
        return self.media_url or self.base_url

    @property
    def base_url(self) -> str:
        """The absolute URL clients reach this server at."""
        if self.public_url:
            return self.public_url
        return f"http://{self.host}:{self.port}"


def _zone(name: str) -> tzinfo:
    # UTC needs no time zone database (some platforms have none without the tzdata package).
    return UTC if name == "UTC" else ZoneInfo(name)


def load_settings(**overrides: Any) -> Settings:
    """Build settings; ``None`` overrides (unset CLI flags) are ignored."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
