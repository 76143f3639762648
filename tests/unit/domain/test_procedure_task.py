"""domain/procedure_task: Tencent's DescribeTaskDetail / ProcedureStateChanged shape of a processing task."""

from __future__ import annotations

from datetime import UTC, datetime

from openvod.domain.procedure_task import TASK_STATUS, procedure_task, task_detail
from openvod.domain.tasks import TaskState
from openvod.domain.views.tasks import MediaRef, ProcessingTaskView, StepView

T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def _step(index: int, kind: str, state: TaskState, **kw: object) -> StepView:
    base: dict[str, object] = dict(index=index, kind=kind, state=state, progress=0.0, definition=20000,
                                   params={"StartTimeOffset": 0}, output=None, error_code=None,
                                   error_message=None, started_at=None, finished_at=None)
    return StepView(**{**base, **kw})  # type: ignore[arg-type]


def _view(state: TaskState, *steps: StepView, media: bool = True) -> ProcessingTaskView:
    return ProcessingTaskView(
        task_id="t1", state=state, file_id="f1",
        media=MediaRef(file_id="f1", name="clip", bucket="b", key="k/clip.mp4", meta={"Duration": 1.0})
        if media else None,
        error_message=None, priority=2, notify_mode="Finish", session_context="sc", session_id=None,
        procedure="flow", created_at=T0, started_at=None, finished_at=None, steps=steps)


def test_every_state_has_a_status() -> None:
    assert set(TASK_STATUS) == set(TaskState)
    assert TASK_STATUS[TaskState.CANCELED] == "ABORTED" and TASK_STATUS[TaskState.FAIL] == "FINISH"


def test_detail_shape() -> None:
    done = _step(0, "AnimatedGraphics", TaskState.SUCC, progress=99.6, output={"_object": ["b", "o.gif"]},
                 started_at=T0, finished_at=T0)
    failed = _step(1, "CoverBySnapshot", TaskState.FAIL, error_code="FFmpegFailed", error_message="boom")
    detail = task_detail(_view(TaskState.FAIL, done, failed))
    assert {k: detail[k] for k in ("TaskType", "Status", "CreateTime", "BeginProcessTime", "FinishTime")} == {
        "TaskType": "Procedure", "Status": "FINISH", "CreateTime": "2024-05-06T07:08:09Z", "BeginProcessTime": "",
        "FinishTime": ""}
    pt = detail["ProcedureTask"]
    assert pt == procedure_task(_view(TaskState.FAIL, done, failed))
    assert {k: v for k, v in pt.items() if k != "MediaProcessResultSet"} == {
        "TaskId": "t1", "Status": "FINISH", "ErrCode": 0, "Message": "", "FileId": "f1", "FileName": "clip",
        "FileUrl": {"_object": ["b", "k/clip.mp4"]}, "MetaData": {"Duration": 1.0}, "TasksPriority": 2,
        "TasksNotifyMode": "Finish", "SessionContext": "sc", "SessionId": "", "Procedure": "flow"}
    assert pt["MediaProcessResultSet"] == [
        {"Type": "AnimatedGraphics", "AnimatedGraphicTask": {
            "Status": "SUCCESS", "ErrCodeExt": "", "ErrCode": 0, "Message": "SUCCESS", "Progress": 100,
            "Input": {"Definition": 20000, "StartTimeOffset": 0}, "Output": {"_object": ["b", "o.gif"]},
            "BeginProcessTime": "2024-05-06T07:08:09Z", "FinishTime": "2024-05-06T07:08:09Z"}},
        {"Type": "CoverBySnapshot", "CoverBySnapshotTask": {
            "Status": "FAIL", "ErrCodeExt": "FFmpegFailed", "ErrCode": 10000, "Message": "boom", "Progress": 0,
            "Input": {"Definition": 20000, "StartTimeOffset": 0}, "Output": None,
            "BeginProcessTime": "", "FinishTime": ""}},
    ]


def test_waiting_and_media_gone() -> None:
    detail = task_detail(_view(TaskState.INIT, _step(0, "ImageSprites", TaskState.INIT), media=False))
    assert detail["Status"] == "WAITING" and detail["ProcedureTask"]["Status"] == "PROCESSING"
    pt = detail["ProcedureTask"]
    assert (pt["FileName"], pt["FileUrl"], pt["MetaData"]) == ("", "", None)
    step = pt["MediaProcessResultSet"][0]
    assert step["Type"] == "ImageSprites" and step["ImageSpriteTask"]["Status"] == "WAITING"
    assert step["ImageSpriteTask"]["Message"] == ""
    aborted = task_detail(_view(TaskState.CANCELED, _step(0, "Transcode", TaskState.CANCELED)))
    assert aborted["Status"] == "ABORTED" and aborted["ProcedureTask"]["Status"] == "FINISH"
    assert aborted["ProcedureTask"]["MediaProcessResultSet"][0]["TranscodeTask"]["Status"] == "FAIL"
