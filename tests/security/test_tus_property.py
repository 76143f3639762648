"""The tus header parsers take any text and raise nothing but ``InvalidParameter`` (issue 10,
items 6 and the property-based acceptance), and odd digits reach clients as 400s."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openvod.api import tus
from openvod.config import Settings
from openvod.errors import InvalidParameter, OpenVODError
from openvod.services import apps
from openvod.services.context import build_context
from tests.conftest import SECRET_ID, SECRET_KEY

# Header values arrive as latin-1 text; the parsers are also fed arbitrary Unicode.
_TEXT = st.one_of(st.text(), st.text(st.characters(max_codepoint=255)), st.from_regex(r"[0-9 ²³¹٣]{0,30}"))
_PARSERS: dict[str, Callable[[str], Any]] = {
    "Upload-Length": tus.parse_length,
    "Upload-Offset": tus.parse_offset,
    "Upload-Metadata": tus.parse_metadata,
    "Upload-Checksum": tus.parse_checksum,
    "Upload-Defer-Length": tus.parse_defer_length,
    "Tus-Resumable": tus.check_version,
}


def _only_project_errors(parse: Callable[[str], Any], raw: str) -> None:
    try:
        parse(raw)
    except OpenVODError as exc:
        assert exc.status < 500 and exc.code.startswith("InvalidParameter"), exc


@pytest.mark.parametrize("name", sorted(_PARSERS))
@settings(max_examples=150, deadline=None)
@given(raw=_TEXT)
def test_header_parsers_raise_only_invalid_parameter(name: str, raw: str) -> None:
    _only_project_errors(_PARSERS[name], raw)


@settings(max_examples=100, deadline=None)
@given(pairs=st.lists(st.tuples(st.text(max_size=10), st.binary(max_size=20) | st.text(max_size=20)), max_size=5))
def test_metadata_round_trips_or_is_refused(pairs: list[tuple[str, bytes | str]]) -> None:
    header = ",".join(f"{k} {base64.b64encode(v if isinstance(v, bytes) else v.encode()).decode()}"
                      for k, v in pairs)
    _only_project_errors(tus.parse_metadata, header)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(min_value=0, max_value=10**19 - 1))
def test_numbers_of_ascii_digits_parse(n: int) -> None:
    assert tus.parse_length(str(n)) == n and tus.parse_offset(str(n)) == n


@pytest.mark.parametrize("raw", ["²", "٣", "1²", "+1", "-1", " 1", "1 ", "0x10", "", "1" * 5000])
def test_odd_digits_are_refused(raw: str) -> None:
    with pytest.raises(InvalidParameter) as length:
        tus.parse_length(raw)
    assert length.value.code == "InvalidParameter.UploadLength"
    with pytest.raises(InvalidParameter) as offset:
        tus.parse_offset(raw)
    assert offset.value.code == "InvalidParameter.UploadOffset"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    from starlette.testclient import TestClient

    from openvod.api.app import create_app

    data: Path = tmp_path_factory.mktemp("tusprop") / "data"
    ctx = build_context(Settings(data_dir=data, workers=0))
    apps.ensure_default_app(ctx.db, SECRET_ID, SECRET_KEY)
    with TestClient(create_app(ctx)) as c:
        c.auth = (SECRET_ID, SECRET_KEY)
        yield c
    ctx.db.dispose()


@pytest.mark.parametrize("raw", ["²".encode(), "²".encode("latin-1"), b"1" * 5000, "１２".encode()])
def test_odd_upload_length_and_offset_are_400_over_http(client: httpx.Client, raw: bytes) -> None:
    tus_headers: dict[str, str | bytes] = {"Tus-Resumable": "1.0.0"}
    r = client.post("/v1/uploads", headers={**tus_headers, "Upload-Length": raw})
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter.UploadLength", r.text
    created = client.post("/v1/uploads", headers={**tus_headers, "Upload-Length": "10"})
    assert created.status_code == 201
    url = created.headers["Location"]
    r = client.patch(url, content=b"0123456789", headers={
        **tus_headers, "Content-Type": "application/offset+octet-stream", "Upload-Offset": raw})
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter.UploadOffset", r.text
    assert client.head(url, headers=tus_headers).headers["Upload-Offset"] == "0"
