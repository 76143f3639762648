"""The per-app queued task limit through every API that creates tasks: the native API answers
429, the Tencent API (its real SDK) and the Kingsoft API (its real SDK) in their own envelopes,
all with ``RequestLimitExceeded.TaskQueue``. No worker runs, so created tasks stay queued."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import make_app_server
from tests.tus import upload_bytes

CODE = "RequestLimitExceeded.TaskQueue"

vod_client = pytest.importorskip("tencentcloud.vod.v20180717.vod_client")
kscore_session = pytest.importorskip("kscore.session")
from tencentcloud.common import credential  # noqa: E402
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException  # noqa: E402
from tencentcloud.common.profile.client_profile import ClientProfile  # noqa: E402
from tencentcloud.common.profile.http_profile import HttpProfile  # noqa: E402
from tencentcloud.vod.v20180717 import models  # noqa: E402

PARAM = {"f": "mp4", "AUDIO": {"acodec": "aac", "ar": "44100", "ab": "64k"},
         "VIDEO": {"vr": 25, "vb": "300k", "vcodec": "h264", "width": 320, "height": 180}}


def test_queued_task_limit_in_every_api(tmp_path: Path, small_clip: Path) -> None:
    srv = make_app_server(tmp_path / "srv", {"OPENVOD_WORKERS": "0", "OPENVOD_APP_MAX_QUEUED_TASKS": "2"})
    try:
        with srv.client() as c:
            fid = upload_bytes(c, small_clip.read_bytes(), "limit.mp4")
            src = c.get(f"/v1/media/{fid}").json()["source"]
            made = [c.post("/v1/tasks", json={"kind": "noop"}) for _ in range(2)]
            assert [r.status_code for r in made] == [201, 201], [r.text for r in made]
            refused = c.post("/v1/tasks", json={"kind": "noop"})
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["code"] == CODE
            assert "app_max_queued_tasks" in refused.json()["error"]["message"]

        hp = HttpProfile(protocol="http", endpoint=f"127.0.0.1:{srv.port}", reqTimeout=30)
        tc = vod_client.VodClient(credential.Credential(srv.secret_id, srv.secret_key), "",
                                  ClientProfile(httpProfile=hp))
        req = models.ProcessMediaRequest()
        req.from_json_string(json.dumps({"FileId": fid, "MediaProcessTask": {
            "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1}]}}))
        with pytest.raises(TencentCloudSDKException) as err:
            tc.ProcessMedia(req)
        assert err.value.code == CODE and "app_max_queued_tasks" in err.value.message

        ks = kscore_session.get_session().create_client(
            "offline", "cn-beijing-6", use_ssl=False, ks_access_key_id=srv.secret_id,
            ks_secret_access_key=srv.secret_key, endpoint_url=srv.url)
        preset = f"lim-{uuid.uuid4().hex[:8]}"
        assert ks.preset(preset=preset, description="x", presettype="avop", param=PARAM)["errNum"] == 0
        r = ks.create_task(preset=preset, srcInfo=[{"path": f"/{src['bucket']}/{src['key']}", "type": "video",
                                                    "index": 0}])
        assert r["errNum"] == 1029 and r["errCode"] == CODE, r

        with srv.client() as c:  # a cancelled task frees its place
            assert c.delete(f"/v1/tasks/{made[0].json()['task_id']}").status_code in (200, 204)
            assert c.post("/v1/tasks", json={"kind": "noop"}).status_code == 201
    finally:
        srv.stop()
