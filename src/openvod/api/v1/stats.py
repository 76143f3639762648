"""``/v1/stats``: the calling app's numbers at a glance (the console's dashboard). Read-only."""

from __future__ import annotations

from fastapi import APIRouter

from openvod.api.deps import AuthKey, Ctx
from openvod.api.v1.stats_schemas import StatsPublic
from openvod.services import stats

__all__ = ["router"]

router = APIRouter(prefix="/v1/stats", tags=["stats"])


@router.get("", response_model=StatsPublic, summary="Media, storage, tasks and processing time of this app")
def get_stats(ctx: Ctx, key: AuthKey) -> StatsPublic:
    """Media count and storage used, tasks by state, processing minutes per UTC day over the last
    7 days, and the week's latest failures with their messages. Cheap: each number is an index
    range (``services/stats.py``)."""
    return StatsPublic.from_view(stats.app_stats(ctx, key.app_id))
