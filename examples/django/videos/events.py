"""OpenVOD's events, as the seed's "reliable callback" (可靠回调) consumed them: PullEvents, store, ConfirmEvents.

Two event types carry what the site keeps:

- ``NewFileUpload``: a file arrived (its name and MetaData, Duration included);
- ``ProcedureStateChanged``: a processing task (GetVideoResponse's ProcessMedia, or the task flow an
  upload signature named) finished, with its ``ProcedureTask``: the GIF, the cover, the duration.

An event stays queued until confirmed; one handed out and not confirmed within
``pull_redeliver_seconds`` (30 s) is handed out again. So the consumer stores first and confirms
after: a consumer that dies in between sees the events again, and storing is idempotent
(:mod:`videos.results`), so nothing is stored twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from tencentcloud.vod.v20180717 import vod_client

from videos.results import store_new_file, store_results
from videos.vod import call

__all__ = ["Outcome", "apply_event", "confirm_events", "pull_once"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one event did: ``stored`` is False for one already stored (or of no interest)."""

    event_type: str
    file_id: str
    stored: bool


def apply_event(event_type: str, payload: dict[str, Any]) -> Outcome:
    """Store what an event says. ``payload`` is the event's body under its type, the same for a
    pulled event (``FileUploadEvent``, ``ProcedureStateChangeEvent``) and a pushed one (``payload``)."""
    if event_type == "NewFileUpload":
        file_id = str(payload["FileId"])
        duration = (payload.get("MetaData") or {}).get("Duration")
        name = str((payload.get("MediaBasicInfo") or {}).get("Name") or "")
        return Outcome(event_type, file_id, store_new_file(file_id, name, float(duration) if duration else None))
    if event_type == "ProcedureStateChanged":
        return Outcome(event_type, str(payload.get("FileId") or ""), store_results(payload))
    return Outcome(event_type, "", False)


_PAYLOAD_FIELD = {"NewFileUpload": "FileUploadEvent", "ProcedureStateChanged": "ProcedureStateChangeEvent"}


def confirm_events(client: vod_client.VodClient, handles: list[str]) -> None:
    """ConfirmEvents: these events are never handed out again."""
    call(client, "ConfirmEvents", {"EventHandles": handles})


def pull_once(client: vod_client.VodClient, *, confirm: bool = True) -> list[Outcome]:
    """One PullEvents (the server holds it up to 5 s when nothing is queued): store every event,
    then confirm them all. An error while storing confirms nothing, so the events come back."""
    events = call(client, "PullEvents", {}).get("EventSet") or []
    outcomes = []
    for event in events:
        event_type = str(event.get("EventType") or "")
        outcome = apply_event(event_type, event.get(_PAYLOAD_FIELD.get(event_type, "")) or {})
        log.info("%s %s: %s", event_type, outcome.file_id or "-", "stored" if outcome.stored else "nothing new")
        outcomes.append(outcome)
    if confirm and events:
        confirm_events(client, [str(e["EventHandle"]) for e in events])
    return outcomes
