"""``GET /`` for people with curl: pointers, not a 404 — while ``/`` stays the console for
browsers and the Tencent and Kingsoft endpoints for their SDKs; and an OpenAPI schema whose
operation ids are unique (a code generator needs them so)."""

from __future__ import annotations

from collections import Counter

import httpx

from tests.conftest import ServerProc


def test_plain_get_points_to_console_docs_and_api(server: ServerProc) -> None:
    r = httpx.get(f"{server.url}/", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["service"] == "OpenVOD"
    assert body["console"] == f"{server.url}/"
    assert body["docs"] == f"{server.url}/docs" and body["api"] == f"{server.url}/v1"
    assert httpx.get(body["docs"], timeout=10).status_code == 200
    assert httpx.head(f"{server.url}/", timeout=10).status_code == 200


def test_the_other_users_of_root_are_unchanged(server: ServerProc) -> None:
    page = httpx.get(f"{server.url}/", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    tencent = httpx.post(f"{server.url}/", headers={"X-TC-Action": "DescribeMediaInfos",
                                                    "X-TC-Version": "2018-07-17"}, json={}, timeout=10)
    assert "Response" in tencent.json()  # Tencent's envelope (here: its auth error)
    kingsoft = httpx.post(f"{server.url}/", headers={"X-Action": "GetPresetList", "X-Version": "2016-09-19"},
                          timeout=10)
    assert "Error" in kingsoft.json()
    with server.client() as c:  # credentials without an action: not a person's curl
        assert c.get("/").json()["error"]["code"] == "ResourceNotFound.Route"


def test_openapi_operation_ids_are_unique(server: ServerProc) -> None:
    schema = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    assert "Duplicate Operation ID" not in server.log.read_text(errors="replace")  # FastAPI's warning
    ids = Counter(op["operationId"] for path in schema["paths"].values() for op in path.values())
    assert [i for i, n in ids.items() if n > 1] == []
    objects = schema["paths"]["/v1/objects/{bucket}/{key}"]
    assert set(objects) == {"get", "head"}
    assert objects["get"]["operationId"] == "get_object_v1_objects__bucket___key__get"
