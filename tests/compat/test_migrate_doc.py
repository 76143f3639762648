"""docs/migrate.md's boto3 snippet, run as written (only the address and keys substituted): its
client presigns with SigV4, and the gateway serves the presigned URL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SECRET_ID, SECRET_KEY, make_app_server
from tests.servers import InProcessServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "migrate.md"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    server = make_app_server(tmp_path_factory.mktemp("migrate"), {"OPENVOD_WORKERS": "0"})
    yield server
    server.stop()


def _snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    return next(b for b in blocks if "boto3.client(\"s3\"" in b)


def test_boto3_snippet_presigns_with_sigv4_and_works(srv: InProcessServer) -> None:
    code = _snippet().replace("http://127.0.0.1:8080", srv.url)
    scope: dict[str, Any] = {"SECRET_ID": SECRET_ID, "SECRET_KEY": SECRET_KEY}
    exec(code, scope)  # noqa: S102 - the documentation's own code
    s3 = scope["s3"]
    s3.create_bucket(Bucket="docs")
    s3.put_object(Bucket="docs", Key="hello.txt", Body=b"hello")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "docs", "Key": "hello.txt"}, ExpiresIn=300)
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    r = httpx.get(url)
    assert r.status_code == 200 and r.content == b"hello"
