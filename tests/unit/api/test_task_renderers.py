"""The transports' renderers of the engine read models: every wire key, for every kind of task.

Golden shapes, written out by hand: a renamed view field is a mypy error in the renderers, and a
changed wire key fails here before a compatibility test against a real SDK would.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from openvod.api.compat import kingsoft_render
from openvod.api.compat.tencent import render as tencent_render
from openvod.api.v1.preset_schemas import PresetPublic
from openvod.api.v1.procedure_schemas import ProcedurePublic
from openvod.api.v1.task_schemas import TaskMeta, TaskPublic
from openvod.api.v1.template_schemas import TemplateList, TemplatePublic
from openvod.domain.tasks import TaskState
from openvod.domain.views.presets import PresetView
from openvod.domain.views.procedures import ProcedureStep, ProcedureView
from openvod.domain.views.tasks import (
    TaskDestination,
    TaskError,
    TaskMetaView,
    TaskSource,
    TaskView,
    TranscodeOutput,
)
from openvod.domain.views.templates import TemplatePage, TemplateView

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
T1 = datetime(2024, 5, 6, 7, 9, 0, tzinfo=UTC)

_BASE = dict(priority=3, topped=False, attempts=1, ext_param="x", cb_url=None, cb_method="POST", created_at=T0)

TRANSCODE = TaskView(
    task_id="t1", kind="transcode", state=TaskState.SUCC, progress=100.0, queue_position=None, error=None,
    started_at=T0, finished_at=T1, preset="system-360p-h264",
    sources=(TaskSource(name="a.mp4", type="video", index=0, file_id=None),),
    dst=TaskDestination(bucket="vod", key="out/a.mp4", acl="private"),
    transcode_output=TranscodeOutput(bucket="vod", key="out/a.mp4", size=1234, url="http://h/vod/out/a.mp4?s=1",
                                     files=[]),
    **_BASE,  # type: ignore[arg-type]
)
QUEUED_NOOP = TaskView(task_id="t2", kind="noop", state=TaskState.INIT, progress=0.0, queue_position=4, error=None,
                       started_at=None, finished_at=None, **_BASE)  # type: ignore[arg-type]
FAILED_PROCESSING = TaskView(
    task_id="t3", kind="process_media", state=TaskState.FAIL, progress=50.0, queue_position=None,
    error=TaskError("FailedOperation.FFmpeg", None), started_at=T0, finished_at=T1, file_id="f1",
    procedure=None, session_id="", session_context="ctx", **_BASE)  # type: ignore[arg-type]


def test_native_task_public_every_kind() -> None:
    assert TaskPublic.from_view(TRANSCODE).model_dump() == {
        "task_id": "t1", "kind": "transcode", "state": "succ", "progress": 100.0, "queue_position": None,
        "priority": 3, "topped": False, "attempts": 1, "ext_param": "x", "cb_url": None, "cb_method": "POST",
        "error": None, "created_at": "2024-05-06T07:08:09Z", "started_at": "2024-05-06T07:08:09Z",
        "finished_at": "2024-05-06T07:09:00Z",
        "output": {"bucket": "vod", "key": "out/a.mp4", "size": 1234, "url": "http://h/vod/out/a.mp4?s=1",
                   "files": []},
        "preset": "system-360p-h264", "sources": [{"name": "a.mp4", "type": "video", "index": 0, "file_id": None}],
        "dst": {"bucket": "vod", "key": "out/a.mp4", "acl": "private"}, "file_id": None, "procedure": None}
    queued = TaskPublic.from_view(QUEUED_NOOP).model_dump()
    assert (queued["state"], queued["queue_position"], queued["output"], queued["sources"]) == ("init", 4, None, None)
    failed = TaskPublic.from_view(FAILED_PROCESSING).model_dump()
    assert failed["error"] == {"code": "FailedOperation.FFmpeg", "message": None}
    assert (failed["file_id"], failed["procedure"], failed["finished_at"]) == ("f1", None, "2024-05-06T07:09:00Z")


def test_kingsoft_task_info() -> None:
    """The manual's keys (issue 12) and, kept for existing callers, OpenVOD's own."""
    assert kingsoft_render.task_info(replace(TRANSCODE, sources=(replace(TRANSCODE.sources[0], path="/in/a.mp4"),))) \
        == {
        "taskid": "t1", "preset": "system-360p-h264", "taskStatus": "succ", "state": "succ", "progress": 100.0,
        "queuePosition": None, "isTop": "0", "topped": False,
        "srcInfo": [{"path": "/in/a.mp4", "type": "video", "index": 0, "name": "a.mp4", "aaa": 1714979289123}],
        "dstBucket": "vod", "dstDir": "", "dstObjectKey": "out/a.mp4", "dstAcl": "private", "cbUrl": "",
        "cbMethod": "POST", "extParam": "x", "createTime": "2024-05-06 07:08:09",
        "startTime": "2024-05-06T07:08:09Z", "endTime": "2024-05-06T07:09:00Z", "errorCode": "0", "errorMsg": "",
        "errorMessage": "", "dstUrl": "http://h/vod/out/a.mp4?s=1", "dstSize": 1234}
    queued = kingsoft_render.task_info(QUEUED_NOOP)
    assert queued["queuePosition"] == 4 and queued["srcInfo"] == [] and queued["dstBucket"] == ""
    assert queued["taskStatus"] == "init" and queued["preset"] == ""
    assert "dstUrl" not in queued and queued["startTime"] is None
    failed = kingsoft_render.task_info(FAILED_PROCESSING)
    assert (failed["errorCode"], failed["errorMsg"], failed["preset"]) == ("FailedOperation.FFmpeg", "", "")
    assert kingsoft_render.task_info(replace(QUEUED_NOOP, state=TaskState.CANCELED, topped=True))[
        "taskStatus"] == "fail"
    assert kingsoft_render.task_info(replace(QUEUED_NOOP, topped=True))["isTop"] == "1"
    noop_done = kingsoft_render.task_info(replace(QUEUED_NOOP, state=TaskState.SUCC, queue_position=None,
                                                  result={"slept": 0}))
    assert (noop_done["dstUrl"], noop_done["dstSize"]) == (None, None)


def test_meta_renderers() -> None:
    meta = TaskMetaView(task_id="t1", sources=[{"format": {"duration": "1.0"}}, {"error": "gone"}], output=None)
    assert kingsoft_render.meta_info(meta, T0) == {
        "taskid": "t1", "createTime": "2024-05-06 07:08:09", "meta_info": "",
        "src_meta_info": ['{"format":{"duration":"1.0"}}', '{"error":"gone"}']}
    assert TaskMeta.from_view(meta).model_dump() == {"task_id": "t1", "sources": meta.sources, "output": None}


def test_tencent_task_item() -> None:
    assert tencent_render.task_item(FAILED_PROCESSING) == {
        "TaskId": "t3", "Status": "FINISH", "FileId": "f1", "TaskType": "Procedure",
        "CreateTime": "2024-05-06T07:08:09Z", "BeginProcessTime": "2024-05-06T07:08:09Z",
        "FinishTime": "2024-05-06T07:09:00Z", "SessionId": "", "SessionContext": "ctx"}
    assert tencent_render.task_item(QUEUED_NOOP) == {
        "TaskId": "t2", "Status": "WAITING", "FileId": "", "TaskType": "noop", "CreateTime": "2024-05-06T07:08:09Z",
        "BeginProcessTime": "", "FinishTime": "", "SessionId": "", "SessionContext": ""}
    canceled = replace(QUEUED_NOOP, state=TaskState.CANCELED)
    assert tencent_render.task_item(canceled)["Status"] == "ABORTED"


def test_presets() -> None:
    view = PresetView(name="web", type="avop", description="d", params={"f": "mp4"}, system=False, created_at=T0,
                      updated_at=T1)
    assert kingsoft_render.preset_info(view, detail=True) == {
        "preset": "web", "presetType": "avop", "presettype": "avop", "description": "d", "system": False,
        "createTime": "2024-05-06 07:08:09", "updateTime": "2024-05-06 07:09:00", "param": {"f": "mp4"}}
    assert "param" not in kingsoft_render.preset_info(view, detail=False)
    assert kingsoft_render.preset_info(replace(view, updated_at=T0), detail=False)["updateTime"] == ""  # never
    assert PresetPublic.from_view(view).model_dump() == {
        "name": "web", "type": "avop", "description": "d", "params": {"f": "mp4"}, "system": False,
        "created_at": "2024-05-06T07:08:09Z", "updated_at": "2024-05-06T07:09:00Z"}


def test_templates_and_procedures() -> None:
    t = TemplateView(definition=1000001, kind="AnimatedGraphics", type="Custom", name="n", comment="c",
                     params={"Fps": 10, "Format": "gif"}, created_at=T0, updated_at=T1)
    assert tencent_render.template_out(t) == {
        "Fps": 10, "Format": "gif", "Definition": 1000001, "Type": "Custom", "Name": "n", "Comment": "c",
        "CreateTime": "2024-05-06T07:08:09Z", "UpdateTime": "2024-05-06T07:09:00Z"}
    assert tencent_render.template_set_key("AdaptiveDynamicStreaming") == "AdaptiveDynamicStreamingTemplateSet"
    assert TemplateList.from_page(TemplatePage(items=(t,), total=7)).model_dump() == {
        "items": [TemplatePublic.from_view(t).model_dump()], "total": 7}
    assert TemplatePublic.from_view(t).model_dump()["created_at"] == "2024-05-06T07:08:09Z"
    task = {"AnimatedGraphicTaskSet": [{"Definition": 20000}]}
    p = ProcedureView(name="gif", type="Custom", comment="", media_process_task=task,
                      steps=(ProcedureStep(kind="AnimatedGraphics", definition=20000, params={}),),
                      created_at=T0, updated_at=T1)
    assert tencent_render.procedure_out(p) == {
        "Name": "gif", "Type": "Custom", "Comment": "", "MediaProcessTask": task,
        "CreateTime": "2024-05-06T07:08:09Z", "UpdateTime": "2024-05-06T07:09:00Z"}
    assert ProcedurePublic.from_view(p).model_dump()["steps"] == [
        {"kind": "AnimatedGraphics", "definition": 20000, "params": {}}]
