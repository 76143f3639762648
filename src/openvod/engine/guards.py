"""SQL guards from the domain's step moves: ``WHERE state ...`` for :mod:`openvod.domain.tasks`.

Every statement that moves a step tests its state with :func:`state_in` on the move's
``sources`` (``state_in(col, CLAIM.sources)``), so a statement can only make a move
:data:`~openvod.domain.tasks.STEP_TRANSITIONS` allows: the state machine lives in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement

from openvod.domain.tasks import StepState

__all__ = ["state_in"]


def state_in(column: Any, states: Iterable[StepState]) -> ColumnElement[bool]:
    """``column = 'x'`` for one state (so a precompiled statement keeps a plain bound literal and
    the ``(state, app_id, ...)`` index is used as before), ``column IN (...)`` for several."""
    values = sorted(s.value for s in states)
    if not values:
        raise ValueError("a state guard needs at least one state")
    if len(values) == 1:
        return column == values[0]  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]
