"""The Kingsoft manual's response examples are the contract (issue 12, part 1).

For each of the eleven calls, the response example is read from the manual itself
(``../shared/seeds/003_834b2843e24e2d12.txt``), the same call is made through the real
``ksc-sdk-python`` (``kscore``) against an in-process OpenVOD, and every key of the example is
looked for in the answer, recursively, with the same JSON type and format (times
``YYYY-MM-DD HH:MM:SS``, 8-digit ``startdate``/``enddate``). Extra keys may stay.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_app_server
from tests.servers import InProcessServer

kscore_session = pytest.importorskip("kscore.session")

# A copy of the seed document (shared/seeds/003_834b2843e24e2d12.txt), so a clean clone has it.
MANUAL = Path(__file__).resolve().parent / "seeds" / "kingsoft_offline_sdk_manual.txt"
CALLS = ("Preset", "UpdatePreset", "GetPresetList", "GetPresetDetail", "DelPreset", "CreateTask",
         "TopTaskByTaskID", "DelTaskByTaskID", "GetTaskList", "GetTaskByTaskID", "GetTaskMetaInfo")
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
DATE = re.compile(r"\d{8}")
# the manual's GetPresetDetail param, with its types (strings stay strings), at a small size
PARAM = {"f": "mp4", "VIDEO": {"vr": "25", "vb": "300000", "vcodec": "h264", "width": 320, "height": 180, "as": 0,
                               "rotate": "0", "vn": 0},
         "AUDIO": {"ar": "44100", "ab": "64k", "acodec": "aac", "an": 0}}


def manual_examples(text: str) -> dict[str, Any]:
    """``{call name: its response example}``: the JSON after 返回示例 in each 接口名 section, with the
    manual's ``//`` comment lines dropped and ``meta_info``'s unescaped JSON made a JSON string."""
    out: dict[str, Any] = {}
    for section in text.split("接口名\n")[1:]:
        name = section.split("\n", 1)[0].strip()
        body = section.split("返回示例\n", 1)[1]
        lines = []
        for line in body.splitlines():
            s = line.strip()
            if s.startswith("//"):
                continue
            m = re.fullmatch(r'"meta_info":"(.*)",', s)
            lines.append(f'"meta_info":{json.dumps(m.group(1))},' if m else s)
        out[name] = json.loads("\n".join(lines))
    return out


def test_manual_has_the_eleven_examples() -> None:
    examples = manual_examples(MANUAL.read_text(encoding="utf-8"))
    assert tuple(examples) == CALLS
    assert examples["CreateTask"]["taskid"] == "40d309d3b2bf373cd3f08e5b5e1bddf720160816"
    assert json.loads(examples["GetTaskMetaInfo"]["metaInfo"][0]["meta_info"])["format"]["nb_streams"] == 2


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    return {dict: "object", list: "array", str: "string", int: "number", float: "number",
            type(None): "null"}.get(type(v), type(v).__name__)


def walk(expected: Any, actual: Any, path: str, wrong: dict[str, str]) -> None:
    """Record in ``wrong`` (path -> why) every key of ``expected`` missing from ``actual`` or of
    another JSON type or format. List items are checked against every item of the example."""
    if _kind(expected) != _kind(actual):
        wrong[path] = f"expected {_kind(expected)}, got {_kind(actual)} ({str(actual)[:60]!r})"
        return
    if isinstance(expected, dict):
        for k, v in expected.items():
            if k not in actual:
                wrong[f"{path}.{k}"] = "missing"
            else:
                walk(v, actual[k], f"{path}.{k}", wrong)
    elif isinstance(expected, list):
        if expected and not actual:
            wrong[f"{path}[]"] = "empty list: nothing to check"
        for e in expected:
            for a in actual:
                walk(e, a, f"{path}[]", wrong)
    elif isinstance(expected, str):
        key = path.rsplit(".", 1)[-1]
        if TIME.fullmatch(expected) or key in ("createTime", "updateTime"):
            if not (TIME.fullmatch(actual) or (key == "updateTime" and actual == "")):
                wrong[path] = f"not YYYY-MM-DD HH:MM:SS: {actual!r}"
        elif DATE.fullmatch(expected) and not DATE.fullmatch(actual):
            wrong[path] = f"not an 8-digit date: {actual!r}"
        elif key == "meta_info":
            try:
                probe = json.loads(actual)
            except ValueError:
                wrong[path] = f"not a JSON string: {actual[:60]!r}"
                return
            if not (isinstance(probe, dict) and probe.get("streams") and probe.get("format")):
                wrong[path] = "the probe JSON has no streams or format"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    s = make_app_server(tmp_path_factory.mktemp("ks-manual"), {"OPENVOD_WORKERS": "1"})
    yield s
    s.stop()


def _answers(srv: InProcessServer, small_clip: Path) -> dict[str, Any]:
    """Each of the eleven calls made through the SDK, as the manual makes it."""
    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", endpoint_url=f"{srv.url}/s3", region_name="us-east-1",
                      aws_access_key_id=srv.secret_id, aws_secret_access_key=srv.secret_key,
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    bucket = f"ks-manual-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="in/clip.mp4", Body=small_clip.read_bytes())
    ks = kscore_session.get_session().create_client(
        "offline", "cn-beijing-6", use_ssl=False, ks_access_key_id=srv.secret_id,
        ks_secret_access_key=srv.secret_key, endpoint_url=srv.url)
    name = f"ks-{uuid.uuid4().hex[:8]}"
    got: dict[str, Any] = {}
    got["Preset"] = ks.preset(preset=name, description="desc", presettype="avop", param=PARAM)
    got["UpdatePreset"] = ks.update_preset(preset=name, description="desc2", presettype="avop", param=PARAM)
    got["GetPresetList"] = ks.get_preset_list(withDetail=0, presettype="avop", presets=name)
    got["GetPresetDetail"] = ks.get_preset_detail(preset=name)
    task = {"dstDir": "", "dstObjectKey": "out/1.mp4", "dstBucket": bucket, "dstAcl": "public-read",
            "preset": name, "srcInfo": [{"path": f"/{bucket}/in/clip.mp4", "type": "video", "index": 0}],
            "cbMethod": "POST"}
    got["CreateTask"] = created = ks.create_task(**task)
    task_id = created.get("taskid") or created.get("TaskID")
    assert task_id, created
    deadline = time.monotonic() + 120
    while True:  # wait for the end, so that the meta info has the output's probe
        info = ks.get_task_by_task_id(taskid=task_id)["taskInfo"]
        if info.get("taskStatus", info.get("state")) in ("succ", "fail"):
            break
        assert time.monotonic() < deadline, info
        time.sleep(0.2)
    got["GetTaskByTaskID"] = ks.get_task_by_task_id(taskid=task_id)
    today = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d")
    got["GetTaskList"] = ks.get_task_list(startdate=int(today), enddate=int(today), marker=0, limit=50)
    got["GetTaskMetaInfo"] = ks.get_task_meta_info(taskid=task_id, startdate=int(today), enddate=int(today),
                                                   marker=0, limit=50)
    second = ks.create_task(**task)
    second_id = second.get("taskid") or second.get("TaskID")
    got["TopTaskByTaskID"] = ks.top_task_by_task_id(taskid=second_id)
    got["DelTaskByTaskID"] = ks.del_task_by_task_id(taskid=second_id)
    got["DelPreset"] = ks.del_preset(preset=name)
    return got


def test_every_key_of_every_example(srv: InProcessServer, small_clip: Path) -> None:
    examples = manual_examples(MANUAL.read_text(encoding="utf-8"))
    got = _answers(srv, small_clip)
    wrong: dict[str, str] = {}
    for call in CALLS:
        walk(examples[call], got[call], call, wrong)
    report = "\n".join(f"{k}: {v}" for k, v in sorted(wrong.items()))
    assert not wrong, f"{len(wrong)} keys or formats differ from the manual:\n{report}"
    # the values the manual's shapes carry, beyond their types
    info = got["GetTaskByTaskID"]["taskInfo"]
    assert info["taskStatus"] == "succ" and info["isTop"] == "0" and info["errorCode"] == "0"
    assert info["srcInfo"][0]["path"] == got["GetTaskList"]["taskInfo"][0]["srcInfo"][0]["path"]
    assert info["srcInfo"][0]["path"].endswith("/in/clip.mp4") and info["dstDir"] == ""
    assert info["cbUrl"] == "" and info["extParam"] == "" and info["dstAcl"] == "public-read"
    assert len(got["CreateTask"]["taskid"]) == 40
    assert got["GetPresetDetail"]["presetdetail"]["param"] == PARAM  # as saved: "vb": "300000" stays a string
    assert got["GetPresetList"]["presetList"][0]["updateTime"]  # it was updated
    today = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d")
    assert got["GetTaskList"]["startdate"] == today == got["GetTaskMetaInfo"]["enddate"]


def test_walk_finds_what_differs() -> None:
    wrong: dict[str, str] = {}
    walk({"a": "2016-08-15 13:41:46", "b": [{"c": "0"}], "d": "20161101", "e": 1, "updateTime": ""},
         {"a": "2016-08-15T13:41:46", "b": [{"c": 0}], "d": "2016-11-01", "updateTime": ""}, "X", wrong)
    assert set(wrong) == {"X.a", "X.b[].c", "X.d", "X.e"}
