"""Task flows of an app (Tencent's procedure templates): a named ``MediaProcessTask``.

    create_procedure(ctx, app_id, "gif-cover", {"AnimatedGraphicTaskSet": [
        {"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 3}]}, comment="preview")
    task = get_procedure(ctx, app_id, "gif-cover").media_process_task
    steps = expand_steps(task)           # openvod.domain.templates: the steps, in run order

Names are 1-20 characters (Tencent's limit; any script) and unique within the app. Every
Definition a procedure names must be one of the app's templates or a system one when it is created
or changed (``InvalidParameterValue.Definition``); such a template then cannot be deleted while the
procedure names it. Error codes are Tencent's: ``InvalidParameter.ExistedProcedureName`` (409) and
``InvalidParameter.ProcedureNameNotExist`` (404).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openvod.db.models import Procedure
from openvod.domain.templates import expand_steps, validate_comment, validate_procedure_name
from openvod.domain.views.procedures import ProcedurePage, ProcedureStep, ProcedureView
from openvod.errors import Conflict, InvalidParameter, NotFound
from openvod.runtime import Context
from openvod.services.templates import DEFAULT_LIMIT, MAX_LIMIT, check_task

__all__ = ["create_procedure", "delete_procedure", "get_procedure", "list_procedures", "update_procedure"]

MAX_FILTER = 100




def _public(row: Procedure) -> ProcedureView:
    steps = tuple(ProcedureStep(kind=s.kind.value, definition=s.definition, params=s.params)
                  for s in expand_steps(row.steps))
    return ProcedureView(name=row.name, type="Custom", comment=row.comment,
                         media_process_task=copy.deepcopy(row.steps), steps=steps,
                         created_at=row.created_at, updated_at=row.updated_at)


def _not_found(name: str) -> NotFound:
    return NotFound(f"procedure {name!r} does not exist in this app", code="InvalidParameter.ProcedureNameNotExist")


def _own(s: Session, app_id: str, name: str) -> Procedure | None:
    return s.scalar(select(Procedure).where(Procedure.app_id == app_id, Procedure.name == name))


def create_procedure(ctx: Context, app_id: str, name: str, task: Any, *, comment: str = "") -> ProcedureView:
    """Create the app's procedure ``name`` running ``task`` (a ``MediaProcessTask``); returns it
    (``media_process_task`` canonical, ``steps`` expanded in run order)."""
    name, comment = validate_procedure_name(name), validate_comment(comment)
    exists = Conflict(f"procedure {name!r} already exists in this app; change it or choose another name",
                      code="InvalidParameter.ExistedProcedureName")
    try:
        with ctx.db.session() as s:
            canonical = check_task(s, app_id, task)
            if _own(s, app_id, name) is not None:
                raise exists
            row = Procedure(app_id=app_id, name=name, comment=comment, steps=canonical)
            s.add(row)
            s.flush()
            return _public(row)
    except IntegrityError as exc:  # a concurrent create of the same name won the race
        raise exists from exc


def get_procedure(ctx: Context, app_id: str, name: str) -> ProcedureView:
    """The app's procedure ``name``; ``InvalidParameter.ProcedureNameNotExist`` if there is none."""
    name = validate_procedure_name(name)
    with ctx.db.session() as s:
        row = _own(s, app_id, name)
        if row is None:
            raise _not_found(name)
        return _public(row)


def list_procedures(ctx: Context, app_id: str, *, names: Iterable[str] | None = None, offset: int = 0,
                    limit: int = DEFAULT_LIMIT) -> ProcedurePage:
    """A page of the app's procedures by name; ``names`` keeps only those (at most 100;
    unknown names are left out), ``offset``/``limit`` (1-100) page through them."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidParameter(f"Offset must be a whole number from 0, got {offset!r}",
                               code="InvalidParameterValue.Offset")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter(f"Limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}",
                               code="InvalidParameterValue.Limit")
    q = select(Procedure).where(Procedure.app_id == app_id)
    if names is not None:
        wanted = sorted({validate_procedure_name(n) for n in names})
        if len(wanted) > MAX_FILTER:
            raise InvalidParameter(f"Names may list at most {MAX_FILTER} procedures, got {len(wanted)}",
                                   code="InvalidParameterValue.Names")
        q = q.where(Procedure.name.in_(wanted))
    with ctx.db.session() as s:
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(q.order_by(Procedure.name).offset(offset).limit(limit))
        return ProcedurePage(items=tuple(_public(r) for r in rows), total=total)


def update_procedure(ctx: Context, app_id: str, name: str, *, task: Any = None,
                     comment: str | None = None) -> ProcedureView:
    """Change a procedure: ``task`` replaces its ``MediaProcessTask`` whole (as Tencent's
    ``ResetProcedureTemplate``), ``comment`` its comment; ``None`` leaves either as it is."""
    name = validate_procedure_name(name)
    comment = validate_comment(comment) if comment is not None else None
    with ctx.db.session() as s:
        row = _own(s, app_id, name)
        if row is None:
            raise _not_found(name)
        if task is not None:
            row.steps = check_task(s, app_id, task)
        if comment is not None:
            row.comment = comment
        s.flush()
        return _public(row)


def delete_procedure(ctx: Context, app_id: str, name: str) -> None:
    """Delete the app's procedure ``name``. Media uploaded earlier with it keep their processing."""
    name = validate_procedure_name(name)
    with ctx.db.session() as s:
        row = _own(s, app_id, name)
        if row is None:
            raise _not_found(name)
        s.delete(row)
