"""``/v1/templates/{kind}`` and ``/v1/procedures`` against a real server: CRUD for every kind, system
templates, Definitions from 1,000,000, procedures and the templates they use, tenants."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProc

# A valid create body for each kind, the field a PUT changes, and its new value.
KINDS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "Transcode": ({"Container": "mp4", "VideoTemplate": {"Height": 480, "Bitrate": 800}, "AudioTemplate": {}},
                  {"VideoTemplate": {"Bitrate": 900}}),
    "AnimatedGraphics": ({"Fps": 8, "Width": 320}, {"Format": "webp"}),
    "SnapshotByTimeOffset": ({"Format": "png"}, {"Width": 640}),
    "SampleSnapshot": ({"SampleType": "Time", "SampleInterval": 5}, {"SampleInterval": 15}),
    "ImageSprite": ({"SampleType": "Time", "SampleInterval": 2, "RowCount": 5, "ColumnCount": 5, "Width": 160},
                    {"RowCount": 4}),
    "AdaptiveDynamicStreaming": ({"Format": "HLS", "StreamInfos": [{"Video": {"Height": 360, "Bitrate": 600},
                                                                    "Audio": {}}]},
                                 {"DrmType": "SimpleAES"}),
}
SYSTEM = {"Transcode": 100030, "AnimatedGraphics": 20000, "SnapshotByTimeOffset": 10, "SampleSnapshot": 10,
          "ImageSprite": 10, "AdaptiveDynamicStreaming": 10}


def unique(prefix: str = "p") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    err: dict[str, str] = response.json()["error"]
    return err


def create(c: httpx.Client, kind: str, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    response = c.post(f"/v1/templates/{kind}", json={"params": params, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def other_app(server: ServerProc) -> Iterator[httpx.Client]:
    """A client of a second app on the same server."""
    out = subprocess.run([sys.executable, "-m", "openvod", "apps", "create", unique("tpl-tenant"), "--json",
                          "--data-dir", str(server.data_dir)], env=server.env, capture_output=True, text=True,
                         timeout=60, check=True)
    key = json.loads(out.stdout)
    with httpx.Client(base_url=server.url, auth=(key["secret_id"], key["secret_key"]), timeout=30) as client:
        yield client


# --- templates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_crud_round_trip_for_every_kind(server: ServerProc, kind: str) -> None:
    params, change = KINDS[kind]
    with server.client() as c:
        body = create(c, kind, params, name="mine", comment="made by a test")
        definition = body["definition"]
        assert definition >= 1_000_000
        assert body["kind"] == kind and body["type"] == "Custom"
        assert (body["name"], body["comment"]) == ("mine", "made by a test")
        assert body["created_at"].endswith("Z")
        assert c.get(f"/v1/templates/{kind}/{definition}").json() == body

        listed = c.get(f"/v1/templates/{kind}", params={"definitions": str(definition)}).json()
        assert listed == {"items": [body], "total": 1}

        changed = c.put(f"/v1/templates/{kind}/{definition}", json={"params": change, "name": "renamed"})
        assert changed.status_code == 200, changed.text
        after = changed.json()
        assert after["name"] == "renamed" and after["comment"] == "made by a test"
        for key, value in change.items():
            if isinstance(value, dict):
                assert after["params"][key] == {**body["params"][key], **value}
            else:
                assert after["params"][key] == value
        untouched = {k: v for k, v in body["params"].items() if k not in change}
        assert {k: after["params"][k] for k in untouched} == untouched

        assert c.delete(f"/v1/templates/{kind}/{definition}").status_code == 204
        gone = error(c.get(f"/v1/templates/{kind}/{definition}"), 404)
        assert gone == {"code": "ResourceNotFound.TemplateNotExist",
                        "message": f"{kind} template {definition} does not exist in this app or among the system "
                                   "templates"}
        assert error(c.delete(f"/v1/templates/{kind}/{definition}"), 404)["code"] == \
            "ResourceNotFound.TemplateNotExist"


def test_definitions_count_up_per_kind_from_one_million(server: ServerProc) -> None:
    with server.client() as c:
        first = create(c, "SampleSnapshot", {"SampleType": "Percent", "SampleInterval": 20})["definition"]
        second = create(c, "SampleSnapshot", {"SampleType": "Percent", "SampleInterval": 25})["definition"]
        other_kind = create(c, "SnapshotByTimeOffset", {})["definition"]
        assert first >= 1_000_000 and second == first + 1 and other_kind >= 1_000_000
        # A deleted number is not handed out again while a higher one is in use.
        assert c.delete(f"/v1/templates/SampleSnapshot/{first}").status_code == 204
        assert create(c, "SampleSnapshot", {"SampleType": "Time", "SampleInterval": 1})["definition"] == second + 1


def test_created_params_are_stored_with_defaults(server: ServerProc) -> None:
    with server.client() as c:
        body = create(c, "AnimatedGraphics", {"Fps": 12})
        assert body["params"] == {"Format": "gif", "Width": 0, "Height": 0, "ResolutionAdaptive": "open",
                                  "Fps": 12, "Quality": 75}
        assert body["name"] == "" and body["comment"] == ""


@pytest.mark.parametrize("kind", list(SYSTEM))
def test_system_templates_are_listed_usable_and_protected(server: ServerProc, kind: str) -> None:
    definition = SYSTEM[kind]
    with server.client() as c:
        presets = c.get(f"/v1/templates/{kind}", params={"type": "Preset", "limit": 100}).json()
        assert presets["total"] == len(presets["items"]) >= 1
        assert all(t["type"] == "Preset" and t["definition"] < 1_000_000 for t in presets["items"])
        assert [t["definition"] for t in presets["items"]] == sorted(t["definition"] for t in presets["items"])
        one = c.get(f"/v1/templates/{kind}/{definition}").json()
        assert one in presets["items"]

        changed = error(c.put(f"/v1/templates/{kind}/{definition}", json={"name": "mine"}), 403)
        assert changed == {"code": "InvalidParameterValue.ModifyDefaultTemplate",
                           "message": f"{kind} template {definition} is a system template and cannot be changed; "
                                      "create a template of your own instead"}
        deleted = error(c.delete(f"/v1/templates/{kind}/{definition}"), 403)
        assert deleted["code"] == "InvalidParameterValue.DeleteDefaultTemplate"
        assert c.get(f"/v1/templates/{kind}/{definition}").json() == one


def test_system_transcode_templates_carry_tencents_numbers(server: ServerProc) -> None:
    with server.client() as c:
        presets = c.get("/v1/templates/Transcode", params={"type": "Preset", "limit": 100}).json()
        numbers = {t["definition"] for t in presets["items"]}
        assert {100010, 100020, 100030, 100040, 100210, 100220, 100230, 100240} <= numbers
        t720 = c.get("/v1/templates/Transcode/100030").json()["params"]
        assert (t720["Container"], t720["VideoTemplate"]["Height"], t720["VideoTemplate"]["Bitrate"]) == (
            "mp4", 720, 1800)
        assert c.get("/v1/templates/AdaptiveDynamicStreaming/20").json()["params"]["Format"] == "MPEG-DASH"


def test_list_filters_and_pages(server: ServerProc) -> None:
    with server.client() as c:
        made = [create(c, "SnapshotByTimeOffset", {"Width": 200 + i})["definition"] for i in range(3)]
        wanted = ",".join(str(d) for d in [*made, 10, 999])
        both = c.get("/v1/templates/SnapshotByTimeOffset", params={"definitions": wanted}).json()
        assert [t["definition"] for t in both["items"]] == [10, *made] and both["total"] == 4
        custom = c.get("/v1/templates/SnapshotByTimeOffset", params={"definitions": wanted, "type": "Custom"}).json()
        assert [t["definition"] for t in custom["items"]] == made
        page = c.get("/v1/templates/SnapshotByTimeOffset",
                     params={"definitions": wanted, "offset": 1, "limit": 2}).json()
        assert [t["definition"] for t in page["items"]] == made[:2] and page["total"] == 4
        tail = c.get("/v1/templates/SnapshotByTimeOffset",
                     params={"definitions": wanted, "offset": 3, "limit": 10}).json()
        assert [t["definition"] for t in tail["items"]] == made[2:]
        everything = c.get("/v1/templates/SnapshotByTimeOffset", params={"limit": 100}).json()
        assert everything["items"][0]["definition"] == 10 and everything["total"] >= 4


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("post", "/v1/templates/Mosaic", {"json": {"params": {}}}, 400, "InvalidParameterValue.TemplateKind"),
        ("post", "/v1/templates/AnimatedGraphics", {"json": {"params": {"Fps": 99}}}, 400,
         "InvalidParameterValue.Fps"),
        ("post", "/v1/templates/AnimatedGraphics", {"json": {"params": {}}}, 400, "MissingParameter"),
        ("post", "/v1/templates/AnimatedGraphics", {"json": {"params": {"Fps": 5, "Loop": 1}}}, 400,
         "UnknownParameter"),
        ("post", "/v1/templates/AnimatedGraphics", {"json": {"params": {"Fps": 5}, "name": "n" * 65}}, 400,
         "InvalidParameterValue.Name"),
        ("post", "/v1/templates/AnimatedGraphics", {"json": {"Fps": 5}}, 400, "InvalidParameter"),
        ("post", "/v1/templates/Transcode", {"json": {"params": {"Container": "mp4", "AudioTemplate": {}}}}, 400,
         "MissingParameter"),
        ("get", "/v1/templates/Transcode", {"params": {"type": "Mine"}}, 400, "InvalidParameterValue.Type"),
        ("get", "/v1/templates/Transcode", {"params": {"definitions": "1,x"}}, 400,
         "InvalidParameterValue.Definitions"),
        ("get", "/v1/templates/Transcode", {"params": {"limit": 101}}, 400, "InvalidParameter"),
        ("get", "/v1/templates/Transcode/abc", {}, 400, "InvalidParameter"),
        ("get", "/v1/templates/Transcode/0", {}, 400, "InvalidParameterValue.Definition"),
    ],
)
def test_bad_requests(server: ServerProc, method: str, path: str, kwargs: dict[str, Any], status: int,
                      code: str) -> None:
    with server.client() as c:
        assert error(c.request(method.upper(), path, **kwargs), status)["code"] == code


def test_a_bad_change_leaves_the_template_as_it_was(server: ServerProc) -> None:
    with server.client() as c:
        body = create(c, "ImageSprite", KINDS["ImageSprite"][0])
        path = f"/v1/templates/ImageSprite/{body['definition']}"
        bad = error(c.put(path, json={"params": {"RowCount": 50}}), 400)
        assert bad == {"code": "InvalidParameterValue.RowCount",
                       "message": "ImageSprite.RowCount x ColumnCount may be at most 100 tiles per sprite, "
                                  "got 50 x 5"}
        assert c.get(path).json() == body


# --- procedures --------------------------------------------------------------------------------------


def test_procedure_crud_round_trip(server: ServerProc) -> None:
    name = unique("flow")
    with server.client() as c:
        gif = create(c, "AnimatedGraphics", {"Fps": 5})["definition"]
        task = {"CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1.5}],
                "AnimatedGraphicTaskSet": [{"Definition": gif, "StartTimeOffset": 0, "EndTimeOffset": 3}],
                "TranscodeTaskSet": [{"Definition": 100030}], "SampleSnapshotTaskSet": []}
        created = c.post("/v1/procedures", json={"name": name, "comment": "gif+cover", "media_process_task": task})
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["name"] == name and body["type"] == "Custom" and body["comment"] == "gif+cover"
        assert list(body["media_process_task"]) == ["TranscodeTaskSet", "AnimatedGraphicTaskSet",
                                                    "CoverBySnapshotTaskSet"]
        assert body["steps"] == [
            {"kind": "Transcode", "definition": 100030, "params": {}},
            {"kind": "AnimatedGraphics", "definition": gif, "params": {"StartTimeOffset": 0, "EndTimeOffset": 3}},
            {"kind": "CoverBySnapshot", "definition": 10, "params": {"PositionType": "Time", "PositionValue": 1.5}},
        ]
        assert c.get(f"/v1/procedures/{name}").json() == body
        listed = c.get("/v1/procedures", params={"names": name}).json()
        assert listed == {"items": [body], "total": 1}

        new_task = {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s", "50%"]}]}
        changed = c.put(f"/v1/procedures/{name}", json={"media_process_task": new_task}).json()
        assert changed["media_process_task"] == new_task and changed["comment"] == "gif+cover"
        assert c.put(f"/v1/procedures/{name}", json={"comment": "snap"}).json()["media_process_task"] == new_task

        assert c.delete(f"/v1/procedures/{name}").status_code == 204
        gone = error(c.get(f"/v1/procedures/{name}"), 404)
        assert gone == {"code": "InvalidParameter.ProcedureNameNotExist",
                        "message": f"procedure '{name}' does not exist in this app"}


def test_procedure_names_are_unique_and_checked(server: ServerProc) -> None:
    name = unique("dup")
    task = {"TranscodeTaskSet": [{"Definition": 100010}]}
    with server.client() as c:
        assert c.post("/v1/procedures", json={"name": name, "media_process_task": task}).status_code == 201
        again = error(c.post("/v1/procedures", json={"name": name, "media_process_task": task}), 409)
        assert again["code"] == "InvalidParameter.ExistedProcedureName"
        long = error(c.post("/v1/procedures", json={"name": "x" * 21, "media_process_task": task}), 400)
        assert long["code"] == "InvalidParameterValue.ProcedureName"
        unicode_name = f"转码{uuid.uuid4().hex[:4]}"
        assert c.post("/v1/procedures", json={"name": unicode_name, "media_process_task": task}).status_code == 201
        assert c.get(f"/v1/procedures/{unicode_name}").json()["name"] == unicode_name


def test_procedure_refuses_unknown_definitions_and_bad_tasks(server: ServerProc) -> None:
    name = unique("bad")
    with server.client() as c:
        unknown = error(c.post("/v1/procedures", json={"name": name, "media_process_task": {
            "TranscodeTaskSet": [{"Definition": 100010}], "ImageSpriteTaskSet": [{"Definition": 987654321}]}}), 400)
        assert unknown == {"code": "InvalidParameterValue.Definition",
                           "message": "MediaProcessTask.ImageSpriteTaskSet[0].Definition 987654321 is neither one "
                                      "of this app's ImageSprite templates nor a system one"}
        # a Definition of another kind does not count: 20000 is an AnimatedGraphics template
        wrong_kind = error(c.post("/v1/procedures", json={"name": name, "media_process_task": {
            "TranscodeTaskSet": [{"Definition": 20000}]}}), 400)
        assert wrong_kind["code"] == "InvalidParameterValue.Definition"
        empty = error(c.post("/v1/procedures", json={"name": name, "media_process_task": {}}), 400)
        assert empty["code"] == "InvalidParameterValue.MediaProcessTask"
        assert error(c.get(f"/v1/procedures/{name}"), 404)["code"] == "InvalidParameter.ProcedureNameNotExist"


def test_a_template_a_procedure_uses_cannot_be_deleted(server: ServerProc) -> None:
    name = unique("uses")
    with server.client() as c:
        snap = create(c, "SnapshotByTimeOffset", {"Width": 320})["definition"]
        task = {"CoverBySnapshotTaskSet": [{"Definition": snap, "PositionType": "Percent", "PositionValue": 10}]}
        assert c.post("/v1/procedures", json={"name": name, "media_process_task": task}).status_code == 201
        busy = error(c.delete(f"/v1/templates/SnapshotByTimeOffset/{snap}"), 409)
        assert busy == {"code": "ResourceInUse.Template",
                        "message": f"SnapshotByTimeOffset template {snap} is used by procedure '{name}'; change or "
                                   "delete the procedure first"}
        # changes are still allowed; so is deleting once the procedure lets go of it
        assert c.put(f"/v1/templates/SnapshotByTimeOffset/{snap}", json={"params": {"Width": 480}}).status_code == 200
        other = {"SampleSnapshotTaskSet": [{"Definition": 10}]}
        assert c.put(f"/v1/procedures/{name}", json={"media_process_task": other}).status_code == 200
        assert c.delete(f"/v1/templates/SnapshotByTimeOffset/{snap}").status_code == 204


def test_procedure_list_pages_by_name(server: ServerProc) -> None:
    prefix = unique("pg")
    names = [f"{prefix}-{i}" for i in range(3)]
    task = {"TranscodeTaskSet": [{"Definition": 100020}]}
    with server.client() as c:
        for n in reversed(names):
            assert c.post("/v1/procedures", json={"name": n, "media_process_task": task}).status_code == 201
        page = c.get("/v1/procedures", params={"names": ",".join(names), "offset": 1, "limit": 1}).json()
        assert page["total"] == 3 and [p["name"] for p in page["items"]] == names[1:2]
        assert error(c.get("/v1/procedures", params={"names": "a/b"}), 400)["code"] == \
            "InvalidParameterValue.ProcedureName"


# --- tenants -----------------------------------------------------------------------------------------


def test_another_app_cannot_see_use_or_touch_templates_and_procedures(server: ServerProc,
                                                                      other_app: httpx.Client) -> None:
    name = unique("mine")
    with server.client() as a:
        mine = create(a, "AnimatedGraphics", {"Fps": 6})["definition"]
        task = {"AnimatedGraphicTaskSet": [{"Definition": mine, "StartTimeOffset": 0, "EndTimeOffset": 2}]}
        assert a.post("/v1/procedures", json={"name": name, "media_process_task": task}).status_code == 201
    b = other_app
    assert error(b.get(f"/v1/templates/AnimatedGraphics/{mine}"), 404)["code"] == "ResourceNotFound.TemplateNotExist"
    assert error(b.put(f"/v1/templates/AnimatedGraphics/{mine}", json={"name": "x"}), 404)["code"] == \
        "ResourceNotFound.TemplateNotExist"
    assert error(b.delete(f"/v1/templates/AnimatedGraphics/{mine}"), 404)["code"] == \
        "ResourceNotFound.TemplateNotExist"
    listed = b.get("/v1/templates/AnimatedGraphics", params={"definitions": str(mine)}).json()
    assert listed == {"items": [], "total": 0}
    assert all(t["type"] == "Preset" for t in b.get("/v1/templates/AnimatedGraphics",
                                                    params={"limit": 100}).json()["items"])
    assert error(b.get(f"/v1/procedures/{name}"), 404)["code"] == "InvalidParameter.ProcedureNameNotExist"
    assert b.get("/v1/procedures").json() == {"items": [], "total": 0}
    # B cannot build on A's template, but may use the system ones and reuse A's procedure name
    refused = error(b.post("/v1/procedures", json={"name": name, "media_process_task": task}), 400)
    assert refused["code"] == "InvalidParameterValue.Definition"
    system_task = {"AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 2}]}
    assert b.post("/v1/procedures", json={"name": name, "media_process_task": system_task}).status_code == 201
    # B's own templates get numbers from the same (global) sequence, never A's
    theirs = create(b, "AnimatedGraphics", {"Fps": 7})["definition"]
    assert theirs > mine
    with server.client() as a:
        assert a.get(f"/v1/procedures/{name}").json()["media_process_task"] == task
        assert error(a.get(f"/v1/templates/AnimatedGraphics/{theirs}"), 404)["code"] == \
            "ResourceNotFound.TemplateNotExist"


def test_a_watermark_template_shows_its_image_by_url_not_by_where_it_is_stored(server: ServerProc,
                                                                               tmp_path: Path) -> None:
    import base64

    from tests.media import make_image
    png = make_image(tmp_path / "logo.png").read_bytes()
    params = {"Type": "image", "ImageTemplate": {"ImageContent": base64.b64encode(png).decode(), "Width": "10%"}}
    with server.client() as c:
        made = create(c, "Watermark", params)
        shown = [made, c.get(f"/v1/templates/Watermark/{made['definition']}").json(),
                 c.get("/v1/templates/Watermark").json()["items"][-1],
                 c.put(f"/v1/templates/Watermark/{made['definition']}", json={"name": "logo"}).json()]
        for t in shown:
            image = t["params"]["ImageTemplate"]
            assert "ImageKey" not in image and "ImageContent" not in image, image
            assert httpx.get(image["ImageUrl"], timeout=10).content == png  # the URL gives the bytes back
