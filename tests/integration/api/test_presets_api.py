"""``/v1/presets`` against a real server: CRUD, validation, system presets, tenants, presets in use."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import delete, select, update

from openvod.db.models import ApiKey, Task
from openvod.domain.presets import Container, parse_params
from openvod.errors import InvalidParameter, NotFound
from openvod.runtime import Context
from openvod.services import presets
from tests.conftest import ServerProc, server_database

SEED = {
    "f": "mp4",
    "AUDIO": {"acodec": "aac", "ar": "44100", "ab": "64k"},
    "VIDEO": {"vr": 25, "vb": "500k", "vcodec": "h264", "width": 640, "height": 360},
}
CANONICAL = {
    "f": "mp4",
    "AUDIO": {"acodec": "aac", "ab": "64k", "ar": 44100},
    "VIDEO": {"vcodec": "h264", "width": 640, "height": 360, "vr": 25, "vb": "500k"},
}
SYSTEM = ["system-360p-h264", "system-480p-h264", "system-540p-h264", "system-720p-h264", "system-1080p-h264",
          "system-hls-360p", "system-hls-540p", "system-hls-720p", "system-hls-1080p", "system-audio-aac",
          "system-audio-mp3"]


def unique(prefix: str = "p") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    err: dict[str, str] = response.json()["error"]
    return err


def test_crud_round_trip(server: ServerProc) -> None:
    name = unique("web")
    with server.client() as c:
        created = c.post("/v1/presets", json={"name": name, "description": "just a demo", "params": SEED})
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["name"] == name and body["type"] == "avop" and body["system"] is False
        assert body["description"] == "just a demo"
        assert body["params"] == CANONICAL
        assert body["created_at"].endswith("Z")

        assert c.get(f"/v1/presets/{name}").json() == body

        listed = c.get("/v1/presets").json()["items"]
        assert [p for p in listed if p["name"] == name] == [body]
        brief = c.get("/v1/presets", params={"detail": "false", "names": name}).json()["items"]
        assert brief == [{**body, "params": None}]

        new_params = {"f": "webm", "VIDEO": {"vcodec": "vp9", "crf": 30}, "AUDIO": {"an": "1"}}
        updated = c.put(f"/v1/presets/{name}", json={"description": "updated", "params": new_params})
        assert updated.status_code == 200, updated.text
        assert updated.json()["description"] == "updated"
        assert updated.json()["params"] == {"f": "webm", "AUDIO": {"an": 1}, "VIDEO": {"vcodec": "vp9", "crf": 30}}
        only_text = c.put(f"/v1/presets/{name}", json={"description": "text only"}).json()
        assert only_text["params"] == updated.json()["params"]
        assert only_text["created_at"] == body["created_at"]

        renamed = c.put(f"/v1/presets/{name}", json={"name": "other"})
        assert error(renamed, 400)["code"] == "InvalidParameter"
        assert "name" in renamed.json()["error"]["message"]

        assert c.delete(f"/v1/presets/{name}").status_code == 204
        gone = error(c.get(f"/v1/presets/{name}"), 404)
        assert gone == {"code": "ResourceNotFound.Preset",
                        "message": f"preset '{name}' does not exist in this app or among the system presets"}
        assert error(c.delete(f"/v1/presets/{name}"), 404)["code"] == "ResourceNotFound.Preset"
        assert error(c.put(f"/v1/presets/{name}", json={"description": "x"}), 404)["code"] == "ResourceNotFound.Preset"


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"params": {**SEED, "VIDEO": {"vb": "fast"}}}, "InvalidParameter.PresetParam",
         "VIDEO.vb must be a bitrate like 800k, got 'fast'"),
        ({"params": {"f": "flv", "VIDEO": {"vcodec": "vp9"}}}, "InvalidParameter.PresetParam",
         "VIDEO.vcodec vp9 cannot go into f=flv; it takes h264, h265"),
        ({"params": {"f": "mp4", "VIDEO": {"vn": 1}, "AUDIO": {"an": 1}}}, "InvalidParameter.PresetParam",
         "VIDEO.vn=1 and AUDIO.an=1 together would leave nothing to encode"),
        ({"params": {"f": "mp4", "EXTRA": 1}}, "InvalidParameter.PresetParam",
         "param has unknown key(s) EXTRA; allowed: f, AUDIO, VIDEO"),
        ({"name": "bad name"}, "InvalidParameter.Preset",
         "preset name must be 1-128 characters of A-Z, a-z, 0-9, '_', '.', '-', got 'bad name'"),
        ({"name": "system-mine"}, "InvalidParameter.Preset",
         "preset name 'system-mine' is invalid: names starting with 'system-' are reserved for built-in presets"),
        ({"type": "snapshot"}, "InvalidParameter.Preset",
         "preset type must be avop (audio/video transcoding), got 'snapshot'"),
        ({"description": "x" * 1025}, "InvalidParameter.Preset",
         "preset description must be at most 1024 characters, got 1025"),
    ],
)
def test_create_validation_errors(server: ServerProc, body: dict[str, Any], code: str, message: str) -> None:
    with server.client() as c:
        response = c.post("/v1/presets", json={"name": unique(), "params": SEED, **body})
        assert error(response, 400) == {"code": code, "message": message}


def test_update_validation_uses_the_same_rules(server: ServerProc) -> None:
    name = unique()
    with server.client() as c:
        assert c.post("/v1/presets", json={"name": name, "params": SEED}).status_code == 201
        bad = c.put(f"/v1/presets/{name}", json={"params": {"f": "mp3", "VIDEO": {"width": 640}}})
        assert error(bad, 400) == {"code": "InvalidParameter.PresetParam",
                                   "message": "f=mp3 holds audio only: remove VIDEO or set VIDEO.vn=1"}
        assert c.get(f"/v1/presets/{name}").json()["params"] == CANONICAL  # unchanged


def test_missing_params_and_wrong_shapes(server: ServerProc) -> None:
    with server.client() as c:
        missing = error(c.post("/v1/presets", json={"name": unique()}), 400)
        assert missing["code"] == "InvalidParameter" and "params" in missing["message"]
        assert error(c.post("/v1/presets", json={"name": unique(), "params": [1]}), 400)["code"] == "InvalidParameter"
        assert error(c.get("/v1/presets", params={"type": "bogus"}), 400)["code"] == "InvalidParameter.Preset"
        assert error(c.get("/v1/presets/bad%20name"), 400)["code"] == "InvalidParameter.Preset"


def test_duplicate_name_conflicts(server: ServerProc) -> None:
    name = unique()
    with server.client() as c:
        assert c.post("/v1/presets", json={"name": name, "params": SEED}).status_code == 201
        again = error(c.post("/v1/presets", json={"name": name, "params": {"f": "mp3"}}), 409)
        assert again == {"code": "FailedOperation.PresetExists",
                         "message": f"preset '{name}' already exists in this app; update it or choose another name"}
        assert c.get(f"/v1/presets/{name}").json()["params"] == CANONICAL


def test_system_presets_are_listed_usable_and_unchangeable(server: ServerProc) -> None:
    with server.client() as c:
        items = c.get("/v1/presets").json()["items"]
        system = [p for p in items if p["system"]]
        assert [p["name"] for p in system] == SYSTEM
        p720 = c.get("/v1/presets/system-720p-h264").json()
        assert p720["system"] is True
        assert p720["params"]["f"] == "mp4"
        assert p720["params"]["VIDEO"] == {"vcodec": "h264", "width": 1280, "height": 720, "as": 1, "vb": "2500k"}
        assert p720["params"]["AUDIO"]["acodec"] == "aac"
        assert c.get("/v1/presets/system-audio-aac").json()["params"] == {
            "f": "m4a", "AUDIO": {"acodec": "aac", "ab": "128k", "ar": 44100, "channels": 2}}
        assert c.get("/v1/presets/system-hls-540p").json()["params"]["f"] == "hls"

        for response in (
            c.put("/v1/presets/system-720p-h264", json={"description": "mine now"}),
            c.delete("/v1/presets/system-720p-h264"),
            c.post("/v1/presets", json={"name": "system-720p-h264", "params": SEED}),
        ):
            err = error(response, 403)
            assert err["code"] == "FailedOperation.SystemPreset"
            assert "'system-720p-h264' is a built-in system preset" in err["message"]
        assert c.get("/v1/presets/system-720p-h264").json() == p720


def test_list_filters(server: ServerProc) -> None:
    a, b = unique("a"), unique("b")
    with server.client() as c:
        for name in (a, b):
            assert c.post("/v1/presets", json={"name": name, "params": SEED}).status_code == 201
        picked = c.get("/v1/presets", params={"names": f"{b},{a},system-audio-mp3,nonexistent"}).json()["items"]
        assert [p["name"] for p in picked] == sorted([a, b]) + ["system-audio-mp3"]
        typed = c.get("/v1/presets", params={"type": "AVOP", "names": a}).json()["items"]
        assert [p["name"] for p in typed] == [a]
        own_first = [p["system"] for p in c.get("/v1/presets").json()["items"]]
        assert own_first == sorted(own_first)  # the app's own, then the system presets


def _second_app(server: ServerProc, name: str) -> httpx.Client:
    out = subprocess.run([sys.executable, "-m", "openvod", "apps", "create", name, "--json",
                          "--data-dir", str(server.data_dir)], env=server.env, capture_output=True, text=True,
                         timeout=60, check=True)
    key = json.loads(out.stdout)
    return httpx.Client(base_url=server.url, auth=(key["secret_id"], key["secret_key"]), timeout=30)


def test_another_app_cannot_see_or_touch_a_preset(server: ServerProc) -> None:
    name = unique("private")
    with server.client() as a:
        assert a.post("/v1/presets", json={"name": name, "description": "A's", "params": SEED}).status_code == 201
    with _second_app(server, unique("tenant")) as b:
        assert error(b.get(f"/v1/presets/{name}"), 404)["code"] == "ResourceNotFound.Preset"
        assert all(p["name"] != name for p in b.get("/v1/presets").json()["items"])
        assert b.get("/v1/presets", params={"names": name}).json()["items"] == []
        changed = b.put(f"/v1/presets/{name}", json={"description": "B's"})
        assert error(changed, 404)["code"] == "ResourceNotFound.Preset"
        assert error(b.delete(f"/v1/presets/{name}"), 404)["code"] == "ResourceNotFound.Preset"
        # B may use the same name for a preset of its own; system presets are shared.
        mine = b.post("/v1/presets", json={"name": name, "description": "B's", "params": {"f": "mp3"}})
        assert mine.status_code == 201
        assert b.get("/v1/presets/system-360p-h264").status_code == 200
    with server.client() as a:
        assert a.get(f"/v1/presets/{name}").json()["description"] == "A's"


def test_preset_named_by_an_unfinished_task_cannot_be_deleted(server: ServerProc) -> None:
    name = unique("busy")
    with server.client() as c:
        assert c.post("/v1/presets", json={"name": name, "params": SEED}).status_code == 201
    db = server_database(server)
    task_id = unique("task")
    try:
        with db.session() as s:
            app_id = s.scalar(select(ApiKey.app_id).where(ApiKey.secret_id == server.secret_id))
            assert app_id is not None
            s.add(Task(id=task_id, app_id=app_id, kind="transcode", state="init",
                       input={"preset": f"system-360p-h264|{name}"}))
        with server.client() as c:
            busy = error(c.delete(f"/v1/presets/{name}"), 409)
            assert busy["code"] == "ResourceInUse.Preset"
            assert task_id in busy["message"]
            with db.session() as s:
                s.execute(update(Task).where(Task.id == task_id).values(state="succ"))
            assert c.delete(f"/v1/presets/{name}").status_code == 204
    finally:
        with db.session() as s:
            s.execute(delete(Task).where(Task.id == task_id))
        db.dispose()


def test_presets_created_over_the_api_resolve_for_transcoding(server: ServerProc) -> None:
    name = unique("chain")
    with server.client() as c:
        assert c.post("/v1/presets", json={"name": name, "params": SEED}).status_code == 201
    db = server_database(server)
    ctx = cast(Context, SimpleNamespace(db=db))  # resolving needs the database only
    try:
        with db.session() as s:
            app_id = s.scalar(select(ApiKey.app_id).where(ApiKey.secret_id == server.secret_id))
        assert app_id is not None
        own, system = presets.resolve_chain(ctx, app_id, f"{name} | system-hls-720p")
        assert own == parse_params(SEED)
        assert system.container is Container.HLS and system.video is not None and system.video.height == 720
        assert presets.resolve_preset(ctx, app_id, name) == own
        for chain, fragment in ((f"{name}||x", "has an empty name"), (f"{name}|{name}", "more than once"),
                                ("|".join(f"p{i}" for i in range(9)), "at most 8 presets")):
            with pytest.raises(InvalidParameter, match=fragment) as err:
                presets.resolve_chain(ctx, app_id, chain)
            assert err.value.code == "InvalidParameter.PresetChain"
        with pytest.raises(NotFound, match="'missing-one' does not exist"):
            presets.resolve_chain(ctx, app_id, f"{name}|missing-one")
        with pytest.raises(NotFound):
            presets.resolve_chain(ctx, "some-other-app", name)
    finally:
        db.dispose()
