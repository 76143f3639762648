"""Every Tencent VOD action OpenVOD answers, through the official SDK, deserialises cleanly (issue 12).

``tencentcloud-sdk-python``'s models warn ``"<keys> fileds are useless."`` (sic) when an answer has
keys the model does not know, and leave ``None`` in every field an answer lacks. For each action of
``openvod.api.compat.tencent.endpoint.ACTIONS`` — the seed's flow (ApplyUpload, COS, CommitUpload,
ProcessMedia with AnimatedGraphics 20000 and CoverBySnapshot 10, DescribeTaskDetail until FINISH),
then every other one — this test records the SDK's warnings (there must be none) and walks the
deserialised response model against the raw answer: no key the model lacks, and no field left
``None`` unless :data:`MAY_STAY_NONE` says why OpenVOD cannot fill it. (The seed's browser upload,
vod-js-sdk-v6 with the backend's signature, is not this SDK's; ApplyUpload and CommitUpload are.)
"""

from __future__ import annotations

import base64
import json
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openvod.api.compat.tencent.endpoint import ACTIONS
from tests.conftest import make_app_server
from tests.media import make_image
from tests.servers import InProcessServer

vod_client = pytest.importorskip("tencentcloud.vod.v20180717.vod_client")
qcloud_cos = pytest.importorskip("qcloud_cos")
from tencentcloud.common import credential  # noqa: E402
from tencentcloud.common.abstract_model import AbstractModel  # noqa: E402
from tencentcloud.common.profile.client_profile import ClientProfile  # noqa: E402
from tencentcloud.common.profile.http_profile import HttpProfile  # noqa: E402
from tencentcloud.vod.v20180717 import models  # noqa: E402

NO_SDK_MODEL = {"ModifyProcedureTemplate"}  # OpenVOD's own: the SDK has only ResetProcedureTemplate

# Fields OpenVOD leaves None, by reason. A pattern matches the end of a field's path
# ("Action.Key.List[].Field"), whole keys at a time; "*" stays within one key.
MAY_STAY_NONE: dict[str, tuple[str, ...]] = {
    # An answer has one TaskType (OpenVOD's are Procedure tasks) and an event one EventType
    # (OpenVOD's are NewFileUpload, ProcedureStateChanged and FileDeleted: PullUpload fetches at
    # once and reports a NewFileUpload, never a PullComplete).
    "the other task and event types": (
        "DescribeTaskDetail.*Task", "DescribeTaskDetail.ImportMediaKnowledge", "EventSet[].*Event",
        "EventSet[].ExtractBlindWatermarkComplete",
    ),
    # AI analysis, recognition and review, knowledge bases, WeChat publishing, smart bitrate
    # reduction (Operator/OperationType: a "System" TSC run): not in OpenVOD.
    "AI, review and publishing": (
        "MediaInfoSet[].FaceRecognitionInfo", "MediaInfoSet[].ImageUnderstandingInfo",
        "MediaInfoSet[].KeyFrameDescInfo", "MediaInfoSet[].KnowledgeBasesInfo", "MediaInfoSet[].MPSAiMediaInfo",
        "MediaInfoSet[].MiniProgramReviewInfo", "MediaInfoSet[].ReviewInfo", "Ai*ResultSet",
        "ProcedureTemplateSet[].Ai*Task", "ProcedureTemplateSet[].AiRecognitionTaskSet",
        "ProcedureTemplateSet[].ImportMediaKnowledgeTaskSet", "ProcedureTemplateSet[].MiniProgramPublishTask",
        "ProcedureTemplateSet[].ReviewAudioVideoTask", "Operator", "OperationType",
    ),
    # Watermarks, mosaics, head and tail clips, subtitles: OpenVOD's templates and tasks refuse
    # them (UnknownParameter), so nothing carries them.
    "watermarks, mosaics, head/tail, subtitles": (
        "WatermarkSet", "TraceWatermark", "CopyRightWatermark", "BlindWatermark", "DigitalWatermarkType",
        "CopyRightWatermarkText", "BlindWatermarkDefinition", "MosaicSet", "HeadTailSet", "SubtitleSet",
        "SubtitleInfoSet", "DefaultSubtitleId", "MediaInfoSet[].SubtitleInfo",
    ),
    # DRM other than SimpleAES (HLS AES-128), which has no key provider or CENC scheme.
    "an SVG watermark template (refused: OpenVOD draws image and text ones)": ("WatermarkTemplateSet[].SvgTemplate",),
    "Widevine and FairPlay DRM": ("DrmInfo", "DrmEncryptType", "DrmKeyProvider"),
    # Files recorded from live streams, TRTC rooms or web pages: OpenVOD's come from uploads and pulls.
    "recordings": ("SourceInfo.LiveRecordInfo", "SourceInfo.TrtcRecordInfo", "SourceInfo.WebPageRecordInfo"),
    # Template settings OpenVOD does not take (UnknownParameter): its encoder's defaults apply.
    "template settings OpenVOD does not take": (
        "TEHDConfig", "EnhanceConfig", "StdExtInfo", "AdaptiveDynamicStreamingTemplateSet[].SegmentDuration",
        *(f"{video}.{setting}" for video in ("VideoTemplate", "Video")
          for setting in ("Bframes", "CodecTag", "GopUnit", "HlsTime", "Mode", "PreserveHDRSwitch", "VideoProfile")),
    ),
    # Inputs are echoed as the caller sent them: optional ones it left out stay out (the test's
    # snapshots use ExtTimeOffsetSet; its flow has one kind of task).
    "optional inputs not sent": (
        "TranscodeTask.Input.StartTimeOffset", "TranscodeTask.Input.EndTimeOffset",
        "TranscodeTask.Input.OverrideParameter", "SnapshotByTimeOffsetTask.Input.TimeOffsetSet",
        "ProcedureTemplateSet[].MediaProcessTask.*TaskSet",
    ),
    # The probe sets CodecTag for HEVC only, as Tencent does (the test's clip is H.264), and does
    # not yet tell HDR from SDR.
    "probe details": ("VideoStreamSet[].CodecTag", "VideoStreamSet[].DynamicRangeInfo"),
    # A transcode's output belongs to its source file; it is never a file (FileId) of its own.
    "outputs are not files of their own": ("TranscodeSet[].FileId", "TranscodeTask.Output.FileId"),
}


def _may_stay_none(path: str) -> str | None:
    """The pattern of :data:`MAY_STAY_NONE` that ``path`` matches, if any."""
    for patterns in MAY_STAY_NONE.values():
        for p in patterns:
            if re.search(r"(^|\.)" + re.escape(p).replace(r"\*", r"[^.]*") + "$", path):
                return p
    return None


class Sdk:
    """A VodClient that keeps each action's raw answer, and checks every answer it deserialises."""

    def __init__(self, srv: InProcessServer) -> None:
        hp = HttpProfile(protocol="http", endpoint=f"127.0.0.1:{srv.port}", reqTimeout=60)
        self.client = vod_client.VodClient(credential.Credential(srv.secret_id, srv.secret_key), "",
                                           ClientProfile(httpProfile=hp))
        self.raw: dict[str, Any] = {}
        self.called: set[str] = set()
        self.useless: list[str] = []  # the SDK's warnings
        self.unknown: list[str] = []  # keys of an answer its model lacks (paths)
        self.filled: dict[str, bool] = {}  # "Action.Key.Key[].Field" -> filled in some answer
        call = self.client.call

        def keep(action: str, params: Any, *args: Any, **kwargs: Any) -> Any:
            body = call(action, params, *args, **kwargs)
            self.raw[action] = json.loads(body)["Response"]
            return body

        self.client.call = keep

    def __call__(self, action: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        req = getattr(models, f"{action}Request")()
        req.from_json_string(json.dumps(params or {}))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resp = getattr(self.client, action)(req)
        self.useless += [f"{action}: {w.message}" for w in caught if "useless" in str(w.message)]
        self.called.add(action)
        audit(resp, self.raw[action], action, self)
        out: dict[str, Any] = json.loads(resp.to_json_string())
        return out


def audit(model: AbstractModel, raw: Any, path: str, sdk: Sdk) -> None:
    """Walk ``model`` beside the ``raw`` JSON it was made from; ``path`` is the action and keys
    (list items share their list's path, so a field counts as filled if any item fills it)."""
    fields = {name[1:]: value for name, value in vars(model).items() if name.startswith("_") and name != "_headers"}
    raw = raw if isinstance(raw, dict) else {}
    sdk.unknown += [f"{path}.{k}" for k in raw if k not in fields]
    for name, value in fields.items():
        where = f"{path}.{name}"
        sdk.filled[where] = sdk.filled.get(where, False) or value is not None
        if isinstance(value, AbstractModel):
            audit(value, raw.get(name), where, sdk)
        elif isinstance(value, list):
            items = raw.get(name) if isinstance(raw.get(name), list) else []
            for i, item in enumerate(value):
                if isinstance(item, AbstractModel):
                    audit(item, items[i] if i < len(items) else None, f"{where}[]", sdk)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    s = make_app_server(tmp_path_factory.mktemp("tc-warn"), {"OPENVOD_WORKERS": "2", "OPENVOD_PULL_ALLOW_PRIVATE": "1"})
    yield s
    s.stop()


def _upload(sdk: Sdk, srv: InProcessServer, clip: Path) -> dict[str, Any]:
    """The seed's upload, as VodUploadClient does it: ApplyUpload, COS PUTs, CommitUpload."""
    from qcloud_cos import CosConfig, CosS3Client

    r = sdk("ApplyUpload", {"MediaType": "mp4", "MediaName": "seed", "CoverType": "jpg"})
    tc = r["TempCertificate"]
    cos = CosS3Client(CosConfig(Region=r["StorageRegion"], SecretId=tc["SecretId"], SecretKey=tc["SecretKey"],
                                Token=tc["Token"], Scheme="http", IP="127.0.0.1", Port=srv.port))
    cos.put_object(Bucket=r["StorageBucket"], Key=r["MediaStoragePath"][1:], Body=clip.read_bytes())
    cos.put_object(Bucket=r["StorageBucket"], Key=r["CoverStoragePath"][1:], Body=b"\xff\xd8\xff fake jpeg")
    return sdk("CommitUpload", {"VodSessionKey": r["VodSessionKey"]})


def _finish(sdk: Sdk, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    delay = 0.1
    while (d := sdk("DescribeTaskDetail", {"TaskId": task_id}))["Status"] != "FINISH":
        assert time.monotonic() < deadline, d
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    return d


EVERY_KIND = {
    "TranscodeTaskSet": [{"Definition": 100010}],
    "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 1}],
    "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0s", "1s"]}],
    "SampleSnapshotTaskSet": [{"Definition": 10}],
    "ImageSpriteTaskSet": [{"Definition": 10}],
    "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1}],
    "AdaptiveDynamicStreamingTaskSet": [{"Definition": 10}],
}
TEMPLATES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {  # kind: (create params, modify params)
    "TranscodeTemplate": ({"Container": "mp4", "VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 500,
                                                                 "Width": 320, "Height": 0},
                           "AudioTemplate": {"Codec": "libfdk_aac", "Bitrate": 64, "SampleRate": 44100}},
                          {"Comment": "changed"}),
    "AnimatedGraphicsTemplate": ({"Fps": 8, "Width": 160, "Height": 0}, {"Fps": 10}),
    "SnapshotByTimeOffsetTemplate": ({"Width": 160, "Height": 0, "Format": "jpg"}, {"Format": "png"}),
    "SampleSnapshotTemplate": ({"SampleType": "Percent", "SampleInterval": 25, "Width": 160, "Height": 0},
                               {"SampleInterval": 50}),
    "ImageSpriteTemplate": ({"SampleType": "Time", "SampleInterval": 1, "RowCount": 2, "ColumnCount": 2,
                             "Width": 128, "Height": 0}, {"RowCount": 3}),
    "AdaptiveDynamicStreamingTemplate": ({"Format": "HLS", "StreamInfos": [{"Video": {
        "Codec": "libx264", "Bitrate": 300, "Fps": 25, "Width": 320, "Height": 0},
        "Audio": {"Codec": "libfdk_aac", "Bitrate": 64, "SampleRate": 44100}}]}, {"Comment": "changed"}),
}


@pytest.mark.slow
def test_every_action_deserialises_without_warnings_or_empty_fields(srv: InProcessServer, small_clip: Path,
                                                                    tmp_path: Path) -> None:
    sdk = Sdk(srv)
    # the seed's flow
    up = _upload(sdk, srv, small_clip)
    fid = up["FileId"]
    seed = sdk("ProcessMedia", {"FileId": fid, "MediaProcessTask": {
        "AnimatedGraphicTaskSet": EVERY_KIND["AnimatedGraphicTaskSet"],
        "CoverBySnapshotTaskSet": EVERY_KIND["CoverBySnapshotTaskSet"]}, "SessionContext": "seed"})["TaskId"]
    pt = _finish(sdk, seed)["ProcedureTask"]
    assert pt["MediaProcessResultSet"][1]["CoverBySnapshotTask"]["Output"]["CoverUrl"]
    assert pt["MediaProcessResultSet"][0]["AnimatedGraphicTask"]["Output"]["Url"] and pt["MetaData"]["Duration"]

    # every processing kind, so that every result and output model is filled
    every = sdk("ProcessMedia", {"FileId": fid, "MediaProcessTask": EVERY_KIND, "SessionId": "every",
                                 "SessionContext": "every", "TasksPriority": 1, "ExtInfo": "x"})["TaskId"]
    _finish(sdk, every)
    sdk("DescribeTasks", {"FileId": fid, "Limit": 10})
    sdk("DescribeTasks", {"Status": "FINISH", "Limit": 1})
    sdk("DescribeMediaInfos", {"FileIds": [fid, "no-such-file"]})
    sdk("SearchMedia", {"Names": ["seed"], "Limit": 10})
    sdk("ModifyMediaInfo", {"FileId": fid, "Name": "renamed", "Description": "d", "ClassId": 0})

    # templates of every kind, system ones too, and procedures
    for kind, (create, modify) in TEMPLATES.items():
        d = sdk(f"Create{kind}", {"Name": f"t-{kind}", "Comment": "c", **create})["Definition"]
        listed = sdk(f"Describe{kind}s", {"Definitions": [d]})
        assert listed["TotalCount"] == 1, (kind, listed)
        sdk(f"Describe{kind}s", {"Type": "Preset", "Limit": 100})
        sdk(f"Modify{kind}", {"Definition": d, **modify})
        # Kinds number their templates alike, so two Deletes may send the same body; signed in the
        # same second (TC3 does not sign the action) the second would be refused as a replay.
        time.sleep(1.0 - time.time() % 1.0)
        sdk(f"Delete{kind}", {"Definition": d})
    # watermark templates: their own shapes (Type is image or text, answers carry ImageUrl)
    logo = base64.b64encode(make_image(tmp_path / "logo.png").read_bytes()).decode()
    marks = [sdk("CreateWatermarkTemplate", {"Type": "image", "Name": "logo", "Comment": "c",
                                             "ImageTemplate": {"ImageContent": logo}})["Definition"],
             sdk("CreateWatermarkTemplate", {"Type": "text", "TextTemplate": {"FontSize": "20px"}})["Definition"]]
    assert sdk("DescribeWatermarkTemplates", {"Definitions": marks})["TotalCount"] == 2
    sdk("ModifyWatermarkTemplate", {"Definition": marks[0], "ImageTemplate": {"ImageContent": logo}})
    for d in marks:
        time.sleep(1.0 - time.time() % 1.0)
        sdk("DeleteWatermarkTemplate", {"Definition": d})
    sdk("CreateProcedureTemplate", {"Name": "cover", "Comment": "c", "MediaProcessTask": {
        "CoverBySnapshotTaskSet": EVERY_KIND["CoverBySnapshotTaskSet"]}})
    sdk("DescribeProcedureTemplates", {"Names": ["cover"]})
    # ModifyProcedureTemplate (OpenVOD's own action: a change of Comment alone) has no SDK model
    assert sdk.client.call_json("ModifyProcedureTemplate", {"Name": "cover", "Comment": "c2"})["Response"]
    sdk("ResetProcedureTemplate", {"Name": "cover", "MediaProcessTask": {
        "SnapshotByTimeOffsetTaskSet": EVERY_KIND["SnapshotByTimeOffsetTaskSet"]}})
    by_procedure = sdk("ProcessMediaByProcedure", {"FileId": fid, "ProcedureName": "cover"})["TaskId"]
    _finish(sdk, by_procedure)
    sdk("DeleteProcedureTemplate", {"Name": "cover"})

    # pulling from a URL, events, deleting
    pulled = sdk("PullUpload", {"MediaUrl": up["MediaUrl"], "MediaName": "pulled"})
    assert pulled["TaskId"]
    handles = []
    for _ in range(5):
        got = sdk("PullEvents")["EventSet"] or []
        handles += [e["EventHandle"] for e in got]
        if got:
            sdk("ConfirmEvents", {"EventHandles": [e["EventHandle"] for e in got]})
        if len(handles) >= 5:
            break
    assert handles
    sdk("DeleteMedia", {"FileId": fid, "DeleteParts": [{"Type": "AnimatedGraphicsFiles", "Definition": 20000}]})
    sdk("DeleteMedia", {"FileId": fid})
    deleted = [e for _ in range(5) for e in sdk("PullEvents")["EventSet"] or [] if e["EventType"] == "FileDeleted"]
    assert deleted

    assert sdk.called == set(ACTIONS) - NO_SDK_MODEL, f"not exercised: {sorted(set(ACTIONS) - sdk.called)}"
    never = sorted(k for k, filled in sdk.filled.items() if not filled)
    report = [*sorted(set(sdk.useless)), *(f"unknown key {k}" for k in sdk.unknown),
              *(f"left None: {k}" for k in never if _may_stay_none(k) is None)]
    assert not report, f"{len(report)} problems:\n" + "\n".join(report)
    used = {_may_stay_none(k) for k in never}
    stale = [p for patterns in MAY_STAY_NONE.values() for p in patterns if p not in used]
    assert not stale, f"MAY_STAY_NONE names fields that are filled now: {stale}"


def test_audit_finds_unknown_keys_and_empty_fields() -> None:
    sdk = Sdk.__new__(Sdk)
    sdk.unknown, sdk.filled = [], {}
    model = models.DescribeTasksResponse()
    raw = {"TaskSet": [{"TaskId": "t1", "Status": "FINISH", "Extra": 1}, {"TaskId": "t2"}], "RequestId": "r"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model._deserialize(raw)
    assert any("Extra" in str(w.message) and "useless" in str(w.message) for w in caught)
    audit(model, raw, "DescribeTasks", sdk)
    assert sdk.unknown == ["DescribeTasks.TaskSet[].Extra"]
    assert sdk.filled["DescribeTasks.TaskSet[].Status"] is True  # filled in one item is enough
    assert sdk.filled["DescribeTasks.TaskSet[].FileId"] is False and sdk.filled["DescribeTasks.ScrollToken"] is False
    assert _may_stay_none("DescribeTaskDetail.TranscodeTask") == "DescribeTaskDetail.*Task"
    assert _may_stay_none("DescribeTaskDetail.ProcedureTask.MediaProcessResultSet[].TranscodeTask") is None
