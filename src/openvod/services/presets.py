"""Transcoding presets of an app, and the built-in system presets beside them.

    create_preset(ctx, app_id, "web-360", "avop", "small MP4", {"f": "mp4", "VIDEO": {"height": 360}})
    get_preset(ctx, app_id, "system-720p-h264").params  # a PresetView
    specs = resolve_chain(ctx, app_id, "system-hls-360p|system-hls-720p")

Params are validated by :mod:`openvod.domain.presets` and stored in their canonical form, so what
``get_preset`` shows as ``params`` is exactly what a transcode will do. They are also kept as the
user sent them (``raw_params``), which Kingsoft's GetPresetDetail shows back.

System presets live in this module, not in the database: every app sees them in lists and can
resolve them, nobody can create, change or delete them (``FailedOperation.SystemPreset``), and a
new release can improve them without a migration. Their names start with ``system-``, a prefix
apps cannot use, so an app's own preset never shadows one.

Chains: ``"a|b"`` names several presets, each an independent rendition of the *same* source (an
HLS ladder, say); :func:`resolve_chain` returns their specs in order. Outputs never feed the next
preset. At most :data:`MAX_CHAIN` names, none empty, none twice (``InvalidParameter.PresetChain``).

A preset that an unfinished task (state ``init`` or ``exec``) names in its input's ``"preset"``
cannot be deleted (``ResourceInUse.Preset``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openvod.db.models import Preset, Task
from openvod.domain.presets import (
    DEFAULT_PRESET_TYPE,
    PRESET_CODE,
    SYSTEM_PREFIX,
    TranscodeSpec,
    normalize_params,
    params_object,
    parse_params,
    validate_description,
    validate_preset_name,
    validate_preset_type,
)
from openvod.domain.tasks import TaskState
from openvod.domain.views.presets import PresetView
from openvod.errors import Conflict, Forbidden, InvalidParameter, NotFound
from openvod.runtime import Context

__all__ = [
    "CHAIN_SEPARATOR",
    "MAX_CHAIN",
    "SYSTEM_PRESETS",
    "SystemPreset",
    "create_preset",
    "delete_preset",
    "get_preset",
    "list_presets",
    "resolve_chain",
    "resolve_preset",
    "update_preset",
]

CHAIN_SEPARATOR = "|"
MAX_CHAIN = 8
_UNFINISHED = (TaskState.INIT, TaskState.EXEC)
_SYSTEM_SINCE = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SystemPreset:
    name: str
    description: str
    params: dict[str, Any]
    type: str = DEFAULT_PRESET_TYPE


def _rung(container: str, width: int, height: int, vb: str, ab: str) -> dict[str, Any]:
    return {
        "f": container,
        "VIDEO": {"vcodec": "h264", "width": width, "height": height, "as": 1, "vb": vb},
        "AUDIO": {"acodec": "aac", "ab": ab, "ar": 44100, "channels": 2},
    }


_RUNGS = ((360, 640, "800k", "96k"), (480, 854, "1200k", "128k"), (540, 960, "1500k", "128k"),
          (720, 1280, "2500k", "128k"), (1080, 1920, "4500k", "192k"))


def _system_presets() -> dict[str, SystemPreset]:
    found: list[SystemPreset] = []
    for height, width, vb, ab in _RUNGS:
        what = f"H.264 at {vb}bit/s fitted inside {width}x{height}, AAC {ab}bit/s stereo"
        found.append(SystemPreset(f"system-{height}p-h264", f"MP4, {what}", _rung("mp4", width, height, vb, ab)))
    for height, width, vb, ab in _RUNGS:
        if height != 480:
            what = f"H.264 at {vb}bit/s fitted inside {width}x{height}, AAC {ab}bit/s stereo"
            found.append(SystemPreset(f"system-hls-{height}p", f"HLS (one rung), {what}",
                                      _rung("hls", width, height, vb, ab)))
    found.append(SystemPreset("system-audio-aac", "M4A, AAC 128 kbit/s 44.1 kHz stereo",
                              {"f": "m4a", "AUDIO": {"acodec": "aac", "ab": "128k", "ar": 44100, "channels": 2}}))
    found.append(SystemPreset("system-audio-mp3", "MP3, 128 kbit/s 44.1 kHz stereo",
                              {"f": "mp3", "AUDIO": {"acodec": "mp3", "ab": "128k", "ar": 44100, "channels": 2}}))
    # Validated like any preset, so a bad definition fails at import rather than in a task.
    return {p.name: SystemPreset(p.name, p.description, normalize_params(p.params)) for p in found}


SYSTEM_PRESETS: dict[str, SystemPreset] = _system_presets()
"""The built-in presets by name, in the order lists show them."""




def _public(p: Preset, *, detail: bool = True) -> PresetView:
    raw = dict(p.raw_params) if detail and p.raw_params is not None else None
    return PresetView(name=p.name, type=p.type, description=p.description,
                      params=dict(p.params) if detail else None, system=False,
                      created_at=p.created_at, updated_at=p.updated_at, raw_params=raw)


def _system_public(p: SystemPreset, *, detail: bool = True) -> PresetView:
    return PresetView(name=p.name, type=p.type, description=p.description,
                      params=dict(p.params) if detail else None, system=True,
                      created_at=_SYSTEM_SINCE, updated_at=_SYSTEM_SINCE)


def _not_found(name: str) -> NotFound:
    return NotFound(f"preset {name!r} does not exist in this app or among the system presets",
                    code="ResourceNotFound.Preset")


def _refuse_system(name: str, action: str) -> None:
    if name in SYSTEM_PRESETS:
        raise Forbidden(f"preset {name!r} is a built-in system preset and cannot be {action}; "
                        "create a preset of your own with other settings instead",
                        code="FailedOperation.SystemPreset")


def _own(s: Session, app_id: str, name: str) -> Preset | None:
    return s.scalar(select(Preset).where(Preset.app_id == app_id, Preset.name == name))


def create_preset(
    ctx: Context, app_id: str, name: str, type: str | None, description: str | None, params: Any
) -> PresetView:
    """Create the app's preset ``name``; returns it (``params`` canonical, ``raw_params`` as sent).

    Raises ``InvalidParameter.Preset`` (name, type, description; names starting with ``system-``
    are reserved), ``InvalidParameter.PresetParam``, or a 409 ``FailedOperation.PresetExists``.
    """
    name = validate_preset_name(name)
    if name.startswith(SYSTEM_PREFIX):
        _refuse_system(name, "created again")
        raise InvalidParameter(f"preset name {name!r} is invalid: names starting with {SYSTEM_PREFIX!r} "
                               "are reserved for built-in presets", code=PRESET_CODE)
    kind, text, canonical = validate_preset_type(type), validate_description(description), normalize_params(params)
    raw = params_object(params)
    exists = Conflict(f"preset {name!r} already exists in this app; update it or choose another name",
                      code="FailedOperation.PresetExists")
    try:
        with ctx.db.session() as s:
            if _own(s, app_id, name) is not None:
                raise exists
            row = Preset(app_id=app_id, name=name, type=kind, description=text, params=canonical, raw_params=raw,
                         system=False)
            s.add(row)
            s.flush()
            return _public(row)
    except IntegrityError as exc:  # a concurrent create of the same name won the race
        raise exists from exc


def update_preset(
    ctx: Context,
    app_id: str,
    name: str,
    *,
    type: str | None = None,
    description: str | None = None,
    params: Any = None,
) -> PresetView:
    """Change an app preset's type, description or params (``None`` leaves one as it is).

    ``params`` replaces the old ones (canonical and as sent) as a whole. The name cannot change.
    System presets refuse with ``FailedOperation.SystemPreset``; a missing preset is
    ``ResourceNotFound.Preset``.
    """
    name = validate_preset_name(name)
    _refuse_system(name, "changed")
    kind = validate_preset_type(type) if type is not None else None
    text = validate_description(description) if description is not None else None
    canonical = normalize_params(params) if params is not None else None
    raw = params_object(params) if params is not None else None
    with ctx.db.session() as s:
        row = _own(s, app_id, name)
        if row is None:
            raise _not_found(name)
        if kind is not None:
            row.type = kind
        if text is not None:
            row.description = text
        if canonical is not None:
            row.params, row.raw_params = canonical, raw
        s.flush()
        return _public(row)


def get_preset(ctx: Context, app_id: str, name: str) -> PresetView:
    """The app's own preset ``name``, or the system preset of that name."""
    name = validate_preset_name(name)
    if name in SYSTEM_PRESETS:
        return _system_public(SYSTEM_PRESETS[name])
    with ctx.db.session() as s:
        row = _own(s, app_id, name)
        if row is None:
            raise _not_found(name)
        return _public(row)


def list_presets(
    ctx: Context,
    app_id: str,
    *,
    type: str | None = None,
    names: list[str] | None = None,
    with_detail: bool = True,
) -> list[PresetView]:
    """The app's presets (by name), then the system presets.

    ``type`` filters by type (``None``/``""``: all); ``names`` keeps only those names (names that
    do not exist are left out, not an error); without detail ``params`` is ``None``.
    """
    kind = validate_preset_type(type) if type else None
    wanted = {validate_preset_name(n) for n in names} if names is not None else None
    with ctx.db.session() as s:
        q = select(Preset).where(Preset.app_id == app_id).order_by(Preset.name)
        if kind is not None:
            q = q.where(Preset.type == kind)
        if wanted is not None:
            q = q.where(Preset.name.in_(sorted(wanted)))
        own = [_public(p, detail=with_detail) for p in s.scalars(q)]
    system = [
        _system_public(p, detail=with_detail)
        for p in SYSTEM_PRESETS.values()
        if (kind is None or p.type == kind) and (wanted is None or p.name in wanted)
    ]
    return own + system


def delete_preset(ctx: Context, app_id: str, name: str) -> None:
    """Delete the app's preset ``name``.

    Refused for system presets (``FailedOperation.SystemPreset``) and while an unfinished task
    names it (``ResourceInUse.Preset``); a missing preset is ``ResourceNotFound.Preset``.
    """
    name = validate_preset_name(name)
    _refuse_system(name, "deleted")
    with ctx.db.session() as s:
        row = _own(s, app_id, name)
        if row is None:
            raise _not_found(name)
        busy = s.scalars(select(Task).where(Task.app_id == app_id, Task.state.in_(_UNFINISHED)))
        for task in busy:
            named = task.input.get("preset") if isinstance(task.input, dict) else None
            if isinstance(named, str) and name in (n.strip() for n in named.split(CHAIN_SEPARATOR)):
                raise Conflict(f"preset {name!r} is used by unfinished task {task.id}; delete it once the task "
                               "has finished or been cancelled", code="ResourceInUse.Preset")
        s.delete(row)


def resolve_preset(ctx: Context, app_id: str, name: str) -> TranscodeSpec:
    """The :class:`TranscodeSpec` of the app's (or the system's) preset ``name``."""
    return resolve_chain(ctx, app_id, name)[0]


def _chain_error(message: str) -> InvalidParameter:
    return InvalidParameter(message, code="InvalidParameter.PresetChain")


def resolve_chain(ctx: Context, app_id: str, chain: str) -> list[TranscodeSpec]:
    """Specs of the presets named in ``chain`` (``"a"`` or ``"a|b|..."``), in order.

    Each is a separate rendition of the same source (see the module docstring). Raises
    ``InvalidParameter.PresetChain`` for an empty name, a repeated name or more than
    :data:`MAX_CHAIN` names, and ``ResourceNotFound.Preset`` naming the first missing preset.
    """
    if not isinstance(chain, str) or not chain.strip():
        raise _chain_error(f"preset must name one preset or several joined by '|', got {chain!r}")
    names = [n.strip() for n in chain.split(CHAIN_SEPARATOR)]
    if len(names) > MAX_CHAIN:
        raise _chain_error(f"a preset chain may name at most {MAX_CHAIN} presets, got {len(names)}")
    if "" in names:
        raise _chain_error(f"preset chain {chain!r} has an empty name; write names joined by '|' as in 'a|b'")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise _chain_error(f"preset chain {chain!r} names {repeated[0]!r} more than once")
    for n in names:
        validate_preset_name(n)
    with ctx.db.session() as s:
        own = {p.name: p.params for p in s.scalars(
            select(Preset).where(Preset.app_id == app_id, Preset.name.in_(names)))}
    specs: list[TranscodeSpec] = []
    for n in names:
        params = SYSTEM_PRESETS[n].params if n in SYSTEM_PRESETS else own.get(n)
        if params is None:
            raise _not_found(n)
        specs.append(parse_params(params))
    return specs
