"""SQLAlchemy models. Every table is created by an Alembic migration, never by ``create_all``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from openvod.domain.api_keys import KeyState
from openvod.domain.events import CallbackFormat, DeliveryState
from openvod.domain.media import MediaState
from openvod.domain.tasks import StepState, TaskState
from openvod.domain.uploads import UploadState

__all__ = [
    "BIG_ID", "ApiKey", "App", "Base", "Delivery", "Event", "HlsKey", "Media", "Object", "Preset", "Procedure", "Task",
    "TALLY_PREFIX", "TaskStep", "TaskTally", "TaskTallyDelta", "Template", "Upload", "UsedSignature", "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


# Ids of the tables that grow with the work done (steps, deliveries, objects): 64-bit on PostgreSQL
# (BIGSERIAL; a busy queue passes 2**31 steps in months); SQLite's INTEGER PRIMARY KEY is 64-bit.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, always returns aware UTC datetimes (SQLite drops the zone). On PostgreSQL
    the column is ``timestamp without time zone`` holding UTC, so the server's and the session's
    ``TimeZone`` never shift a value."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; OpenVOD stores UTC only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    pass


class App(Base):
    __tablename__ = "app"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    sub_app_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Push delivery of events: the app's callback URL and the secret its HMAC signatures use
    # (sealed at rest like api_key.secret_key).
    callback_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    callback_method: Mapped[str] = mapped_column(String(8), default="POST")
    callback_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Private apps (the default) hand out signed, expiring URLs; public apps plain ones.
    playback_private: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiKey(Base):
    __tablename__ = "api_key"
    secret_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Sealed (AES-GCM, services/stored_secrets.py), not hashed: HMAC-based schemes (upload
    # signatures, TC3, SigV4) need the secret itself.
    secret_key: Mapped[str] = mapped_column(String(128))
    app_id: Mapped[str] = mapped_column(ForeignKey("app.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=KeyState.ACTIVE.value)
    description: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Object(Base):
    __tablename__ = "object"
    __table_args__ = (UniqueConstraint("app_id", "bucket", "key"),)
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("app.id"), index=True)
    # Byte order on PostgreSQL too (COLLATE "C", migration 0001), as SQLite and S3 listings sort.
    bucket: Mapped[str] = mapped_column(String(63).with_variant(String(63, collation="C"), "postgresql"))
    key: Mapped[str] = mapped_column(String(1024).with_variant(String(1024, collation="C"), "postgresql"))
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(128), default="")
    content_type: Mapped[str] = mapped_column(String(128), default="application/octet-stream")
    acl: Mapped[str] = mapped_column(String(16), default="private")
    media_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    role: Mapped[str] = mapped_column(String(32), default="")  # source, cover, transcode, ...
    # Processing outputs: the template that made it and what the output is (width, height,
    # duration, bitrate, container, task id, step index...).
    definition: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    info: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Media(Base):
    __tablename__ = "media"
    # One index per library sort (services/media_list.py): each page is a range of one of them.
    __table_args__ = (
        Index("ix_media_app_id_id", "app_id", "id"),
        Index("ix_media_app_name", "app_id", "name", "id"),
        Index("ix_media_app_size", "app_id", "size", "id"),
        Index("ix_media_app_duration", "app_id", "duration", "id"),
        # SearchMedia's ClassIds and Categories (migration 0013): one class or type, in FileId order
        Index("ix_media_app_class_id", "app_id", "class_id", "id"),
        Index("ix_media_app_type_id", "app_id", "media_type", "id"),
        # Substring search (migration 0009): trigram indexes on PostgreSQL; SQLite has media_fts.
        Index("ix_media_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
        Index("ix_media_description_trgm", "description", postgresql_using="gin",
              postgresql_ops={"description": "gin_trgm_ops"}),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the FileId
    app_id: Mapped[str] = mapped_column(ForeignKey("app.id"))
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    class_id: Mapped[int] = mapped_column(BigInteger, default=0)
    source_bucket: Mapped[str] = mapped_column(String(63))
    source_key: Mapped[str] = mapped_column(String(1024))
    media_type: Mapped[str] = mapped_column(String(32), default="")
    probe: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Sort keys, kept with the row they describe: the source object's bytes (None once the source
    # is deleted) and the probe's format.duration in seconds (None: not media, or no duration).
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    probe_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    probe_error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Why the upload's task flow was not started (a file that is not media); None otherwise.
    procedure_skipped: Mapped[str | None] = mapped_column(Text, nullable=True)
    # None: the app's playback setting; True/False: this media is public/private whatever the app's.
    public: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    cover_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=MediaState.NORMAL.value)
    source_context: Mapped[str] = mapped_column(String(256), default="")
    session_context: Mapped[str] = mapped_column(String(1024), default="")
    procedure: Mapped[str] = mapped_column(String(128), default="")
    task_priority: Mapped[int] = mapped_column(Integer, default=0)
    task_notify_mode: Mapped[str] = mapped_column(String(16), default="Finish")
    storage_region: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    expire_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Upload(Base):
    """A tus upload session."""

    __tablename__ = "upload"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("app.id"), index=True)
    length: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # from the signature
    bucket: Mapped[str] = mapped_column(String(63))
    key: Mapped[str] = mapped_column(String(1024))
    handle: Mapped[str] = mapped_column(Text)  # storage's resumable-write handle
    state: Mapped[str] = mapped_column(String(16), default=UploadState.OPEN.value)
    file_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    signature_nonce: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UsedSignature(Base):
    """One row per consumed one-time upload signature; the primary key makes reuse impossible."""

    __tablename__ = "used_signature"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Event(Base):
    """The outbox: every event a user may be told about."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_app_id_id", "app_id", "id"), Index("ix_event_created", "created_at"),
                      # pages of list_recent by type; pull's page (oldest unconfirmed first) ranges
                      # over the unconfirmed only, not over every event the app ever confirmed
                      Index("ix_event_app_type_id", "app_id", "type", "id"),
                      Index("ix_event_app_unconfirmed", "app_id", "id", sqlite_where=text("confirmed_at IS NULL"),
                            postgresql_where=text("confirmed_at IS NULL")))
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("app.id"))
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Pull delivery: an event handed out is invisible until visible_at, then handed out again
    # unless confirmed.
    visible_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    pulls: Mapped[int] = mapped_column(Integer, default=0)


class Delivery(Base):
    """One push of one event to one URL, retried with backoff until a 2xx or the deadline."""

    __tablename__ = "delivery"
    # list_deliveries' pages (an app's, newest first, all or of one state) and the dispatcher's
    # claim (pending by due time): ranges, not walks through every delivery ever made
    __table_args__ = (Index("ix_delivery_app_id_id", "app_id", "id"),
                      Index("ix_delivery_app_state_id", "app_id", "state", "id"),
                      Index("ix_delivery_state_due", "state", "next_attempt_at"))
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("app.id"))
    url: Mapped[str] = mapped_column(String(1024))
    method: Mapped[str] = mapped_column(String(8), default="POST")
    # The body: the event envelope, or another wire format's rendering (domain.events.CallbackFormat)
    format: Mapped[str] = mapped_column(String(16), default=CallbackFormat.EVENT.value,
                                        server_default=CallbackFormat.EVENT.value)
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # every attempt
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Preset(Base):
    """A transcoding template (Kingsoft offline schema). System presets have app_id NULL."""

    __tablename__ = "preset"
    __table_args__ = (UniqueConstraint("app_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str | None] = mapped_column(ForeignKey("app.id"), nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(32), default="avop")
    description: Mapped[str] = mapped_column(String(1024), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # canonical: what a transcode does
    # As the user sent them, shown back by Kingsoft's GetPresetDetail; NULL before migration 0005.
    raw_params: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    system: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Task(Base):
    """A unit of work a user asked for; its steps are what workers run."""

    __tablename__ = "task"
    __table_args__ = (Index("ix_task_app_created", "app_id", "created_at", "id"),
                      Index("ix_task_app_state", "app_id", "state"), Index("ix_task_finished", "finished_at"),
                      # list pages (services/tasks.py list_tasks): ranges of ids, by app or app and state
                      Index("ix_task_app_id", "app_id", "id"), Index("ix_task_app_state_id", "app_id", "state", "id"),
                      Index("ix_task_file_id_id", "file_id", "id"))
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("app.id"))
    kind: Mapped[str] = mapped_column(String(32))  # transcode, noop, process_media, procedure
    state: Mapped[str] = mapped_column(String(16), default=TaskState.INIT.value, index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    topped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    cb_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    cb_method: Mapped[str] = mapped_column(String(8), default="POST")
    # How cb_url is pushed (domain.events.CallbackFormat): every change as an event, or Kingsoft's end
    cb_format: Mapped[str] = mapped_column(String(16), default=CallbackFormat.EVENT.value,
                                           server_default=CallbackFormat.EVENT.value)
    ext_param: Mapped[str] = mapped_column(Text, default="")
    error_code: Mapped[str | None] = mapped_column(String(128), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # processing tasks (process_media / procedure)
    file_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    procedure: Mapped[str] = mapped_column(String(64), default="")
    session_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    session_context: Mapped[str] = mapped_column(Text, default="")
    notify_mode: Mapped[str] = mapped_column(String(16), default="Finish")


class TaskTally(Base):
    """How many tasks an app has per state, in buckets of creation time: the task ids sharing their
    first :data:`TALLY_PREFIX` characters (~4.7 hours; ids start with their creation time in hex
    milliseconds). Kept by triggers on ``task`` (migration 0011), in the same transaction as the
    change, so every writer (the engine, deletions, retention, cascades) keeps it exact. On
    PostgreSQL the triggers append to :class:`TaskTallyDelta` instead (no row every writer locks)
    and services/task_counts.py folds those in. A list's total is a sum of these rows."""

    __tablename__ = "task_tally"
    app_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(12), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class TaskTallyDelta(Base):
    """A change of :class:`TaskTally` not yet folded in (PostgreSQL): +1 or -1 of one bucket and state."""

    __tablename__ = "task_tally_delta"
    __table_args__ = (Index("ix_task_tally_delta_app", "app_id", "bucket"),)
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(String(40))
    bucket: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(16))
    d: Mapped[int] = mapped_column(Integer)


TALLY_PREFIX = 6  # characters of a task id that name its tally bucket: 16**6 ms, ~4.66 hours


class Template(Base):
    """A processing template with a numeric Definition (Tencent's model). System templates have
    app_id NULL and Tencent's own numbers; user templates get numbers from a high range."""

    __tablename__ = "template"
    # list_templates' page: the app's templates of a kind by Definition
    __table_args__ = (UniqueConstraint("kind", "definition"),
                      Index("ix_template_app_kind_definition", "app_id", "kind", "definition"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str | None] = mapped_column(ForeignKey("app.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(40))  # Transcode, AnimatedGraphics, SnapshotByTimeOffset, ...
    definition: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(64), default="")
    comment: Mapped[str] = mapped_column(String(256), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Procedure(Base):
    """A named task flow: the processing to run on a media file (after upload or on demand)."""

    __tablename__ = "procedure"
    __table_args__ = (UniqueConstraint("app_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("app.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(String(256), default="")
    steps: Mapped[dict[str, Any]] = mapped_column(JSON)  # MediaProcessTask-shaped
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class HlsKey(Base):
    """AES-128 keys of encrypted HLS outputs, served only to authorised players."""

    __tablename__ = "hls_key"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("app.id"), index=True)
    media_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    key_hex: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaskStep(Base):
    """One runnable sub-task. The scheduler leases steps fairly across apps, and in (topped, priority,
    age) order within one (engine/fair.py)."""

    __tablename__ = "task_step"
    # ix_step_app_queue: each app's queue in claim order (engine/fair.py; migration 0004 adds NULLS
    # LAST to topped_at on PostgreSQL).
    __table_args__ = (Index("ix_step_app_queue", "state", "app_id", text("topped_at DESC"), text("priority DESC"),
                            "created_at", "id"),
                      Index("ix_step_app_started", "app_id", "started_at"))
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("app.id"))
    idx: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default=StepState.INIT.value)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    topped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    progress: Mapped[float] = mapped_column(default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error_code: Mapped[str | None] = mapped_column(String(128), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_detail: Mapped[str | None] = mapped_column(Text, nullable=True)  # stderr tail, for operators
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
