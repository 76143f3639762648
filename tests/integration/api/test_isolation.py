"""Tenants: app B's key sees nothing of app A's media or objects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ServerProc
from tests.tus import upload_bytes


def test_app_b_sees_nothing_of_app_a(server: ServerProc, small_clip: Path) -> None:
    with server.client() as a:
        file_id = upload_bytes(a, small_clip.read_bytes(), "a-secret.mp4")
        src = a.get(f"/v1/media/{file_id}").json()["source"]
    out = subprocess.run([sys.executable, "-m", "openvod", "apps", "create", "tenant-b", "--json",
                          "--data-dir", str(server.data_dir)], env=server.env, capture_output=True, text=True,
                         timeout=60, check=True)
    b_key = json.loads(out.stdout)
    with httpx.Client(base_url=server.url, auth=(b_key["secret_id"], b_key["secret_key"]), timeout=30) as b:
        assert b.get("/v1/media").json()["items"] == []
        assert b.get(f"/v1/media/{file_id}").status_code == 404
        assert b.get(f"/v1/media/{file_id}").json()["error"]["code"] == "ResourceNotFound.Media"
        d = b.post("/v1/media/describe", json={"file_ids": [file_id]}).json()
        assert d == {"items": [], "not_found": [file_id]}
        assert b.patch(f"/v1/media/{file_id}", json={"name": "mine"}).status_code == 404
        assert b.delete(f"/v1/media/{file_id}").status_code == 404
        assert b.get("/v1/objects", params={"bucket": src["bucket"]}).json()["items"] == []
        assert b.get(f"/v1/objects/{src['bucket']}/{src['key']}").status_code == 404
        assert b.get("/v1/keys").json()["items"][0]["secret_id"] == b_key["secret_id"]
        assert len(b.get("/v1/keys").json()["items"]) == 1
        # B's own upload is B's alone
        fb = upload_bytes(b, small_clip.read_bytes(), "b.mp4")
    with server.client() as a:
        assert a.get(f"/v1/media/{fb}").status_code == 404
        assert a.get(f"/v1/media/{file_id}").status_code == 200
