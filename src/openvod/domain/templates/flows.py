"""Task flows (``MediaProcessTask``): validation, and the steps a task expands to.

    steps = expand_steps({"TranscodeTaskSet": [{"Definition": 100030}],
                          "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time",
                                                      "PositionValue": 1.5}]})
    [(s.kind, s.definition, s.params) for s in steps]
    # [(Transcode, 100030, {}), (CoverBySnapshot, 10, {"PositionType": "Time", "PositionValue": 1.5})]

Field names are those of ``MediaProcessTaskInput``; see :func:`normalize_task`.
:func:`expand_steps` gives the steps in a fixed order, which is also the order of
``MediaProcessResultSet``: the sets in the order ``MediaProcessTaskInput`` declares them
(:data:`TASK_SETS`: Transcode, AnimatedGraphic, SnapshotByTimeOffset, SampleSnapshot, ImageSprite,
CoverBySnapshot, AdaptiveDynamicStreaming), whatever the key order of the request, and within a
set the list order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from openvod.domain.templates._fields import JsonObject, bad_value, number_in
from openvod.domain.templates.names import validate_definition
from openvod.domain.templates.params import TemplateKind
from openvod.domain.templates.watermarks import watermark_items

__all__ = [
    "MAX_STEPS", "MAX_TIME_POINTS", "TASK_SETS", "StepKind", "StepSpec", "TimePoint", "expand_steps",
    "normalize_task", "template_refs", "time_points",
]

MAX_STEPS = 50
"""Most steps one ``MediaProcessTask`` may expand to."""
MAX_TIME_POINTS = 100
"""Most time points one ``SnapshotByTimeOffsetTaskSet`` item may list."""


class StepKind(StrEnum):
    """A step of a task flow, named as ``MediaProcessTaskResult.Type`` names it."""

    TRANSCODE = "Transcode"
    ANIMATED_GRAPHICS = "AnimatedGraphics"
    SNAPSHOT_BY_TIME_OFFSET = "SnapshotByTimeOffset"
    SAMPLE_SNAPSHOT = "SampleSnapshot"
    IMAGE_SPRITES = "ImageSprites"
    COVER_BY_SNAPSHOT = "CoverBySnapshot"
    ADAPTIVE_DYNAMIC_STREAMING = "AdaptiveDynamicStreaming"

    @property
    def template_kind(self) -> TemplateKind:
        """The kind of template the step's Definition names (a cover is a time-point snapshot)."""
        if self is StepKind.IMAGE_SPRITES:
            return TemplateKind.IMAGE_SPRITE
        if self is StepKind.COVER_BY_SNAPSHOT:
            return TemplateKind.SNAPSHOT_BY_TIME_OFFSET
        return TemplateKind(self.value)


TASK_SETS: tuple[tuple[str, StepKind], ...] = (
    ("TranscodeTaskSet", StepKind.TRANSCODE),
    ("AnimatedGraphicTaskSet", StepKind.ANIMATED_GRAPHICS),
    ("SnapshotByTimeOffsetTaskSet", StepKind.SNAPSHOT_BY_TIME_OFFSET),
    ("SampleSnapshotTaskSet", StepKind.SAMPLE_SNAPSHOT),
    ("ImageSpriteTaskSet", StepKind.IMAGE_SPRITES),
    ("CoverBySnapshotTaskSet", StepKind.COVER_BY_SNAPSHOT),
    ("AdaptiveDynamicStreamingTaskSet", StepKind.ADAPTIVE_DYNAMIC_STREAMING),
)
"""``MediaProcessTaskInput``'s sets in declaration order: the order steps run and results list."""


@dataclass(frozen=True)
class StepSpec:
    """One step of a task flow: what to make (``kind`` + template ``definition``) and the step's
    own settings (``params``: the task item without ``Definition``, canonical)."""

    kind: StepKind
    definition: int
    params: dict[str, Any]

    @property
    def template_kind(self) -> TemplateKind:
        return self.kind.template_kind

    def input(self) -> dict[str, Any]:
        """The task item as Tencent echoes it in ``MediaProcessTaskResult.<X>Task.Input``."""
        return {"Definition": self.definition, **self.params}


@dataclass(frozen=True)
class TimePoint:
    """A snapshot time: ``seconds`` from the start, or ``percent`` of the duration."""

    seconds: float | None = None
    percent: float | None = None

    def at(self, duration: float) -> float:
        """Seconds from the start for a media file of ``duration`` seconds."""
        return self.seconds if self.seconds is not None else duration * (self.percent or 0.0) / 100.0


_TIME_POINT = re.compile(r"^(\d+(?:\.\d+)?)(s|%)$")


def _offsets(o: JsonObject, *, required: bool) -> dict[str, Any]:
    out = {name: o.number(name, None, -86_400_000, 86_400_000) for name in ("StartTimeOffset", "EndTimeOffset")
           if required or o.has(name)}
    start, end = out.get("StartTimeOffset", 0), out.get("EndTimeOffset", 0)
    if start and end and (start > 0) == (end > 0) and end <= start:
        raise bad_value("EndTimeOffset", f"{o.path('EndTimeOffset')} {end} must come after StartTimeOffset {start} "
                                         "(seconds; negative values count back from the end)")
    return out


def _snapshot_points(o: JsonObject) -> dict[str, Any]:
    ext = o.items("ExtTimeOffsetSet", "ExtTimeOffsetSet", MAX_TIME_POINTS)
    legacy = o.items("TimeOffsetSet", "TimeOffsetSet", MAX_TIME_POINTS)
    if bool(ext) == bool(legacy):
        raise bad_value("ExtTimeOffsetSet", f"{o.where} must list time points in ExtTimeOffsetSet (\"3.5s\", \"10%\") "
                                            "or, in milliseconds, in TimeOffsetSet; exactly one of them")
    if legacy:
        where = o.path("TimeOffsetSet")
        return {"TimeOffsetSet": [number_in(f"{where}[{i}]", "TimeOffsetSet", v, 0, 86_400_000)
                                  for i, v in enumerate(legacy)]}
    points = []
    for value in ext:
        m = _TIME_POINT.match(value.strip()) if isinstance(value, str) else None
        if m is None or (m[2] == "%" and float(m[1]) > 100):
            raise bad_value("ExtTimeOffsetSet", f"{o.path('ExtTimeOffsetSet')} items must look like \"3.5s\" (seconds) "
                                                f"or \"10%\" (of the duration, at most 100%), got {value!r}")
        points.append(value.strip())
    return {"ExtTimeOffsetSet": points}


def _cover(o: JsonObject) -> dict[str, Any]:
    kind = o.choice("PositionType", None, ("Time", "Percent"))
    return {"PositionType": kind,
            "PositionValue": o.number("PositionValue", None, 0, 100 if kind == "Percent" else 86_400_000)}


def _watermark_set(o: JsonObject) -> dict[str, Any]:
    marks = watermark_items(o)
    return {"WatermarkSet": marks} if marks else {}


def _publish_early(o: JsonObject) -> dict[str, Any]:
    # OpenVOD's: 1 publishes the lowest rung (a playable master) before the others are encoded.
    return {"PublishEarly": o.flag("PublishEarly")} if o.has("PublishEarly") else {}


_ITEMS: dict[StepKind, tuple[tuple[str, ...], Callable[[JsonObject], dict[str, Any]]]] = {
    StepKind.TRANSCODE: (("StartTimeOffset", "EndTimeOffset", "WatermarkSet"),
                         lambda o: {**_offsets(o, required=False), **_watermark_set(o)}),
    StepKind.ANIMATED_GRAPHICS: (("StartTimeOffset", "EndTimeOffset"), lambda o: _offsets(o, required=True)),
    StepKind.SNAPSHOT_BY_TIME_OFFSET: (("ExtTimeOffsetSet", "TimeOffsetSet"), _snapshot_points),
    StepKind.SAMPLE_SNAPSHOT: ((), lambda o: {}),
    StepKind.IMAGE_SPRITES: ((), lambda o: {}),
    StepKind.COVER_BY_SNAPSHOT: (("PositionType", "PositionValue"), _cover),
    StepKind.ADAPTIVE_DYNAMIC_STREAMING: (("WatermarkSet", "PublishEarly"),
                                          lambda o: {**_watermark_set(o), **_publish_early(o)}),
}
# Outputs of these are kept per Definition (MediaInfo lists one set per Definition), so a set may
# name a Definition once; animated images carry their own offsets and may repeat one.
_ONCE_PER_DEFINITION = {StepKind.TRANSCODE, StepKind.SNAPSHOT_BY_TIME_OFFSET, StepKind.SAMPLE_SNAPSHOT,
                        StepKind.IMAGE_SPRITES, StepKind.ADAPTIVE_DYNAMIC_STREAMING}


def normalize_task(task: Any) -> dict[str, Any]:
    """The canonical ``MediaProcessTask``: the non-empty sets of :data:`TASK_SETS`, in that order.

    Each item is ``{"Definition": int, ...step settings}``: Transcode takes optional
    ``StartTimeOffset``/``EndTimeOffset`` (seconds, negative counts back from the end),
    Transcode and AdaptiveDynamicStreaming an optional ``WatermarkSet`` (see
    :func:`~openvod.domain.templates.watermarks.watermark_items`), AnimatedGraphic requires both
    offsets, SnapshotByTimeOffset takes ``ExtTimeOffsetSet`` (``"3.5s"``,
    ``"10%"``) or the older ``TimeOffsetSet`` (milliseconds), CoverBySnapshot takes
    ``PositionType`` Time|Percent and ``PositionValue``, AdaptiveDynamicStreaming an optional
    ``PublishEarly`` 0|1 (OpenVOD's: the lowest rung is published first). At least one step, at most
    :data:`MAX_STEPS`, one cover, and a Definition at most once per set (animated images aside).
    Whether each Definition exists is the caller's to check (:func:`template_refs`).
    """
    o = JsonObject("MediaProcessTask", task, tuple(name for name, _ in TASK_SETS), "MediaProcessTask")
    out: dict[str, Any] = {}
    for name, kind in TASK_SETS:
        allowed, rule = _ITEMS[kind]
        items: list[dict[str, Any]] = []
        for i, raw in enumerate(o.items(name, name, MAX_STEPS)):
            item = JsonObject(f"MediaProcessTask.{name}[{i}]", raw, ("Definition", *allowed), name)
            definition = validate_definition(item.required("Definition"), item.path("Definition"))
            if kind in _ONCE_PER_DEFINITION and any(x["Definition"] == definition for x in items):
                raise bad_value("Definition", f"{item.path('Definition')} {definition} is already in {name}: "
                                              "each Definition may appear once per set")
            items.append({"Definition": definition, **rule(item)})
        if kind is StepKind.COVER_BY_SNAPSHOT and len(items) > 1:
            raise bad_value(name, f"MediaProcessTask.{name} may hold one item (a media file has one cover), "
                                  f"got {len(items)}")
        if items:
            out[name] = items
    total = sum(len(v) for v in out.values())
    if total == 0:
        raise bad_value("MediaProcessTask", "MediaProcessTask has no tasks: list at least one item in one of "
                                            + ", ".join(name for name, _ in TASK_SETS))
    if total > MAX_STEPS:
        raise bad_value("MediaProcessTask", f"MediaProcessTask may hold at most {MAX_STEPS} tasks, got {total}")
    return out


def expand_steps(task: Any) -> list[StepSpec]:
    """The steps of ``task`` (validated by :func:`normalize_task`) in run and result order: the sets
    in :data:`TASK_SETS` order, each set in list order."""
    canonical = normalize_task(task)
    return [StepSpec(kind, item["Definition"], {k: v for k, v in item.items() if k != "Definition"})
            for name, kind in TASK_SETS for item in canonical.get(name, [])]


def template_refs(task: Mapping[str, Any]) -> list[tuple[TemplateKind, int]]:
    """Every (template kind, Definition) a canonical task (from :func:`normalize_task`, or as stored)
    names, once each, in step order. Does not validate: malformed items are skipped."""
    refs = [(kind.template_kind, item.get("Definition")) for name, kind in TASK_SETS
            for item in (task.get(name) or []) if isinstance(item, Mapping)]
    refs += [(TemplateKind.WATERMARK, mark.get("Definition")) for name, _ in TASK_SETS
             for item in (task.get(name) or []) if isinstance(item, Mapping)
             for mark in (item.get("WatermarkSet") or []) if isinstance(mark, Mapping)]
    return list(dict.fromkeys((k, d) for k, d in refs if isinstance(d, int) and not isinstance(d, bool)))


def time_points(params: Mapping[str, Any]) -> list[TimePoint]:
    """The time points of a SnapshotByTimeOffset step's canonical ``params``, in order."""
    if "TimeOffsetSet" in params:
        return [TimePoint(seconds=float(ms) / 1000.0) for ms in params["TimeOffsetSet"]]
    points = []
    for text in params.get("ExtTimeOffsetSet", []):
        value = float(text[:-1])
        points.append(TimePoint(percent=value) if text.endswith("%") else TimePoint(seconds=value))
    return points
