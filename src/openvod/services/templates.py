"""Processing templates of an app, numbered by Definition as in Tencent VOD, and the system ones.

    d = create_template(ctx, app_id, "AnimatedGraphics", {"Fps": 10, "Width": 480}, name="preview").definition
    resolve(ctx, app_id, "AnimatedGraphics", d)          # canonical params, defaults filled in
    list_templates(ctx, app_id, "Transcode", type="Preset", limit=100).total
    task = require_templates(ctx, app_id, {"TranscodeTaskSet": [{"Definition": 100030}]})

Params are validated by :mod:`openvod.domain.templates` and stored canonical, so what a template
shows is what a step will make. System templates (``Type`` ``Preset``) live in code with
Tencent's Definitions; every app lists and uses them, none can change or delete them
(``InvalidParameterValue.ModifyDefaultTemplate`` / ``DeleteDefaultTemplate``, Tencent's codes, HTTP
403). An app's own templates (``Custom``) get Definitions per kind from 1,000,000 up (the highest
in use + 1, over all apps, since Tencent's Definitions are global too); another app's template is
``ResourceNotFound.TemplateNotExist``, exactly like one that does not exist.

A template that one of the app's procedures names cannot be deleted (``ResourceInUse.Template``).
Tasks are not checked: the task service is expected to copy the resolved params into its steps
when it creates them, so deleting a template later does not change work already queued.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openvod.db.models import Procedure, Template
from openvod.domain.templates import (
    SYSTEM_TEMPLATES,
    TASK_SETS,
    USER_DEFINITION_BASE,
    SystemTemplate,
    TemplateKind,
    merge_params,
    normalize_task,
    parse_kind,
    template_refs,
    validate_comment,
    validate_definition,
    validate_name,
    validate_params,
)
from openvod.domain.views.templates import TemplatePage, TemplateView
from openvod.errors import Conflict, Forbidden, InvalidParameter, NotFound
from openvod.runtime import Context
from openvod.services import watermark_images

__all__ = [
    "DEFAULT_LIMIT", "MAX_LIMIT", "TEMPLATE_TYPES", "check_task", "create_template", "delete_template", "get_template",
    "list_templates", "missing_templates", "require_templates", "resolve", "update_template",
]

DEFAULT_LIMIT, MAX_LIMIT, MAX_FILTER = 10, 100, 100
TEMPLATE_TYPES = ("Preset", "Custom")
_SYSTEM_SINCE = datetime(2024, 1, 1, tzinfo=UTC)
_ALLOCATION_ATTEMPTS = 5




def _row_public(row: Template) -> TemplateView:
    return TemplateView(definition=row.definition, kind=row.kind, type="Custom", name=row.name, comment=row.comment,
                        params=copy.deepcopy(row.params), created_at=row.created_at, updated_at=row.updated_at)


def _system_public(t: SystemTemplate) -> TemplateView:
    return TemplateView(definition=t.definition, kind=t.kind.value, type="Preset", name=t.name, comment=t.comment,
                        params=copy.deepcopy(t.params), created_at=_SYSTEM_SINCE, updated_at=_SYSTEM_SINCE)


def _not_found(kind: TemplateKind, definition: int) -> NotFound:
    return NotFound(f"{kind.value} template {definition} does not exist in this app or among the system "
                    "templates", code="ResourceNotFound.TemplateNotExist")


def _refuse_system(kind: TemplateKind, definition: int, action: str) -> None:
    if definition in SYSTEM_TEMPLATES[kind]:
        code = "ModifyDefaultTemplate" if action == "changed" else "DeleteDefaultTemplate"
        raise Forbidden(f"{kind.value} template {definition} is a system template and cannot be {action}; "
                        "create a template of your own instead", code=f"InvalidParameterValue.{code}")


def _own(s: Session, app_id: str, kind: TemplateKind, definition: int) -> Template | None:
    return s.scalar(select(Template).where(Template.app_id == app_id, Template.kind == kind.value,
                                           Template.definition == definition))


def create_template(ctx: Context, app_id: str, kind: TemplateKind | str, params: Any, *, name: str = "",
                    comment: str = "") -> TemplateView:
    """Create the app's template of ``kind``; returns it, with the new ``definition``.

    Raises what :func:`~openvod.domain.templates.validate_params` raises, and
    ``InvalidParameterValue.Name`` / ``.Comment`` (at most 64 / 256 characters).
    """
    kind = parse_kind(kind)
    canonical, name, comment = validate_params(kind, params), validate_name(name), validate_comment(comment)
    if kind is TemplateKind.WATERMARK:  # its image goes to storage, the params keep the key
        canonical = watermark_images.store_image(ctx, app_id, canonical)
    # One statement computes and takes the number, so SQLite's writer lock makes it atomic; a
    # server with concurrent writers may still collide on the unique (kind, definition): retry.
    top = (select(func.coalesce(func.max(Template.definition), USER_DEFINITION_BASE - 1) + 1)
           .where(Template.kind == kind.value, Template.definition >= USER_DEFINITION_BASE)
           .correlate(None).scalar_subquery())
    for attempt in range(_ALLOCATION_ATTEMPTS):
        try:
            with ctx.db.session() as s:
                new_id = s.scalar(insert(Template).values(app_id=app_id, kind=kind.value, definition=top, name=name,
                                                          comment=comment, params=canonical).returning(Template.id))
                row = s.get_one(Template, new_id)
                return _row_public(row)
        except IntegrityError as exc:
            if attempt == _ALLOCATION_ATTEMPTS - 1:
                raise Conflict(f"could not allocate a Definition for a new {kind.value} template after "
                               f"{_ALLOCATION_ATTEMPTS} attempts (concurrent creates); try again",
                               code="InternalError.GenDefinition") from exc
    raise AssertionError("unreachable")


def get_template(ctx: Context, app_id: str, kind: TemplateKind | str, definition: int) -> TemplateView:
    """The app's own template, or the system template, of ``kind`` numbered ``definition``."""
    kind, definition = parse_kind(kind), validate_definition(definition)
    if definition in SYSTEM_TEMPLATES[kind]:
        return _system_public(SYSTEM_TEMPLATES[kind][definition])
    with ctx.db.session() as s:
        row = _own(s, app_id, kind, definition)
        if row is None:
            raise _not_found(kind, definition)
        return _row_public(row)


def resolve(ctx: Context, app_id: str, kind: TemplateKind | str, definition: int) -> dict[str, Any]:
    """The canonical params of the app's (or the system's) template; ``ResourceNotFound.TemplateNotExist``."""
    return get_template(ctx, app_id, kind, definition).params


def _paging(offset: int, limit: int) -> None:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidParameter(f"Offset must be a whole number from 0, got {offset!r}",
                               code="InvalidParameterValue.Offset")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter(f"Limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}",
                               code="InvalidParameterValue.Limit")


def _template_type(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    found = next((t for t in TEMPLATE_TYPES if isinstance(value, str) and t.lower() == value.lower()), None)
    if found is None:
        raise InvalidParameter(f"Type must be Preset or Custom, got {value!r}", code="InvalidParameterValue.Type")
    return found


def list_templates(ctx: Context, app_id: str, kind: TemplateKind | str, *, definitions: Iterable[int] | None = None,
                   type: str | None = None, offset: int = 0, limit: int = DEFAULT_LIMIT) -> TemplatePage:
    """A page of the system templates of ``kind``, then the app's, by Definition.

    ``definitions`` keeps only those (at most 100; unknown ones are left out, not an error),
    ``type`` ``Preset`` or ``Custom`` keeps one side; ``offset``/``limit`` (1-100) page through
    the whole list and ``total`` counts it.
    """
    kind, wanted_type = parse_kind(kind), _template_type(type)
    _paging(offset, limit)
    wanted = None
    if definitions is not None:
        wanted = sorted({validate_definition(d, "Definitions") for d in definitions})
        if len(wanted) > MAX_FILTER:
            raise InvalidParameter(f"Definitions may list at most {MAX_FILTER} templates, got {len(wanted)}",
                                   code="InvalidParameterValue.Definitions")
    system = [] if wanted_type == "Custom" else [
        t for d, t in sorted(SYSTEM_TEMPLATES[kind].items()) if wanted is None or d in wanted]
    items = [_system_public(t) for t in system[offset:offset + limit]]
    with ctx.db.session() as s:
        q = select(Template).where(Template.app_id == app_id, Template.kind == kind.value)
        if wanted is not None:
            q = q.where(Template.definition.in_(wanted))
        own_total = 0
        if wanted_type != "Preset":
            own_total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            room, skip = limit - len(items), max(0, offset - len(system))
            if room > 0:
                rows = s.scalars(q.order_by(Template.definition).offset(skip).limit(room))
                items += [_row_public(r) for r in rows]
    return TemplatePage(items=tuple(items), total=len(system) + own_total)


def update_template(ctx: Context, app_id: str, kind: TemplateKind | str, definition: int, *,
                    name: str | None = None, comment: str | None = None, params: Any = None) -> TemplateView:
    """Change the app's template: ``None`` leaves a field as it is; ``params`` are merged into the
    current ones as Tencent's ``Modify<Kind>Template`` does (see ``merge_params``), then validated.

    System templates refuse (``InvalidParameterValue.ModifyDefaultTemplate``).
    """
    kind, definition = parse_kind(kind), validate_definition(definition)
    _refuse_system(kind, definition, "changed")
    name = validate_name(name) if name is not None else None
    comment = validate_comment(comment) if comment is not None else None
    with ctx.db.session() as s:
        row = _own(s, app_id, kind, definition)
        if row is None:
            raise _not_found(kind, definition)
        old_image = watermark_images.image_location(row.params)
        if params is not None:
            row.params = merge_params(kind, row.params, params)
            if kind is TemplateKind.WATERMARK:
                row.params = watermark_images.store_image(ctx, app_id, row.params)
        if name is not None:
            row.name = name
        if comment is not None:
            row.comment = comment
        s.flush()
        view = _row_public(row)
    if params is not None and old_image != watermark_images.image_location(view.params):
        watermark_images.release_image(ctx, app_id, old_image)
    return view


def delete_template(ctx: Context, app_id: str, kind: TemplateKind | str, definition: int) -> None:
    """Delete the app's template. Refused for system templates
    (``InvalidParameterValue.DeleteDefaultTemplate``) and while a procedure of the app names it
    (``ResourceInUse.Template``)."""
    kind, definition = parse_kind(kind), validate_definition(definition)
    _refuse_system(kind, definition, "deleted")
    with ctx.db.session() as s:
        row = _own(s, app_id, kind, definition)
        if row is None:
            raise _not_found(kind, definition)
        for proc in s.scalars(select(Procedure).where(Procedure.app_id == app_id).order_by(Procedure.name)):
            if (kind, definition) in template_refs(proc.steps):
                raise Conflict(f"{kind.value} template {definition} is used by procedure {proc.name!r}; change or "
                               "delete the procedure first", code="ResourceInUse.Template")
        image = watermark_images.image_location(row.params)
        s.delete(row)
    watermark_images.release_image(ctx, app_id, image)


def missing_templates(s: Session, app_id: str, refs: Iterable[tuple[TemplateKind, int]]) -> set[
        tuple[TemplateKind, int]]:
    """Those of ``refs`` that are neither system templates nor the app's own, looked up in ``s``
    (for services that check references inside their own transaction)."""
    wanted = {(k, d) for k, d in refs if d not in SYSTEM_TEMPLATES[k]}
    if not wanted:
        return set()
    found = s.execute(select(Template.kind, Template.definition).where(
        Template.app_id == app_id, Template.definition.in_(sorted({d for _, d in wanted})))).all()
    return wanted - {(TemplateKind(k), d) for k, d in found}


def check_task(s: Session, app_id: str, task: Any) -> dict[str, Any]:
    """The canonical ``MediaProcessTask`` of ``task`` once every Definition in it exists for the app
    (its own or a system one); else ``InvalidParameterValue.Definition`` naming the first that does
    not."""
    canonical = normalize_task(task)
    missing = missing_templates(s, app_id, template_refs(canonical))
    for name, step in TASK_SETS:
        for i, item in enumerate(canonical.get(name, [])):
            if (step.template_kind, item["Definition"]) in missing:
                raise InvalidParameter(
                    f"MediaProcessTask.{name}[{i}].Definition {item['Definition']} is neither one of this app's "
                    f"{step.template_kind.value} templates nor a system one",
                    code="InvalidParameterValue.Definition")
            for j, mark in enumerate(item.get("WatermarkSet", [])):
                if (TemplateKind.WATERMARK, mark["Definition"]) in missing:
                    raise InvalidParameter(
                        f"MediaProcessTask.{name}[{i}].WatermarkSet[{j}].Definition {mark['Definition']} is not one "
                        "of this app's watermark templates", code="InvalidParameterValue.Definition")
    return canonical


def resolve_watermarks(ctx: Context, app_id: str, step: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each ``WatermarkSet`` item of a step's params with its template's params copied in (what
    the job draws); ``InvalidParameterValue.TextContent`` for a text watermark without text."""
    out = []
    for i, item in enumerate(step.get("WatermarkSet") or []):
        params = resolve(ctx, app_id, TemplateKind.WATERMARK, item["Definition"])
        if params["Type"] == "text" and not item.get("TextContent"):
            raise InvalidParameter(f"WatermarkSet[{i}]: watermark template {item['Definition']} is a text watermark; "
                                   "give its TextContent", code="InvalidParameterValue.TextContent")
        out.append({**params, **item})
    return out


def require_templates(ctx: Context, app_id: str, task: Any) -> dict[str, Any]:
    """:func:`check_task` in a transaction of its own: for ``ProcessMedia``-style requests."""
    with ctx.db.session() as s:
        return check_task(s, app_id, task)
