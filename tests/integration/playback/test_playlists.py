"""HLS playlists served rewritten: every reference a fetchable (signed) URL; AES-128 keys only
to holders of a short-lived signed key URI."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from openvod.services import hls_keys
from openvod.services.playback import url_for
from tests.integration.playback.conftest import Playback, Tenant
from tests.integration.playback.outputs import make_ladder

URI_ATTR = re.compile(r'URI="([^"]*)"')


def _refs(text: str) -> list[str]:
    """Every URI of a playlist: the URI lines and the URI="..." attributes."""
    refs = []
    for line in text.splitlines():
        if line.startswith("#"):
            refs += URI_ATTR.findall(line)
        elif line.strip():
            refs.append(line.strip())
    return refs


def _assert_signed(pb: Playback, url: str) -> None:
    assert url.startswith(f"{pb.url}/files/vod/{pb.private.app_id}/"), url
    assert set(parse_qs(urlsplit(url).query)) == {"expires", "signature"}, url


def _crawl(pb: Playback, master_url: str) -> dict[str, httpx.Response]:
    """Fetch the master playlist and everything it leads to, as a player would (no credentials)."""
    seen: dict[str, httpx.Response] = {}
    todo = [master_url]
    while todo:
        url = todo.pop()
        r = httpx.get(url, timeout=30)
        assert r.status_code == 200, (url, r.text)
        seen[url] = r
        if r.headers["content-type"] == "application/vnd.apple.mpegurl":
            todo += [ref for ref in _refs(r.text) if ref not in seen and "/keys/hls/" not in ref]
    return seen


def test_ladder_playlists_are_rewritten_to_signed_urls(pb: Playback, ladder: Path) -> None:
    master_key = pb.private.lib.put_tree("ladder", "hls", ladder, role="AdaptiveDynamicStreaming",
                                         main="master.m3u8", definition=10)
    fetched = _crawl(pb, url_for(pb.ctx, pb.private.app_id, "vod", master_key))
    playlists = [r for r in fetched.values() if r.headers["content-type"] == "application/vnd.apple.mpegurl"]
    segments = [r for r in fetched.values() if r.headers["content-type"] == "video/mp2t"]
    assert len(playlists) == 3  # master + two rungs
    assert len(segments) == 6  # 2 rungs x 3 segments of 2 s
    for r in playlists:
        assert r.text.startswith("#EXTM3U")
        refs = _refs(r.text)
        assert refs
        for ref in refs:
            _assert_signed(pb, ref)
        assert r.headers["cache-control"] == "private, max-age=5"
    stored = {p.relative_to(ladder).as_posix(): p.read_bytes() for p in ladder.rglob("*.ts")}
    for url, r in fetched.items():
        if r.headers["content-type"] == "video/mp2t":
            rel = urlsplit(url).path.split("/hls/", 1)[1]
            assert r.content == stored[rel]
            assert r.content[0] == 0x47  # MPEG-TS sync byte


def test_attributes_and_odd_references(pb: Playback) -> None:
    lib = pb.private.lib
    lib.put("attrs", "cmaf/init.mp4", b"init", role="AdaptiveDynamicStreaming.part")
    lib.put("attrs", "cmaf/seg 1.m4s", b"seg1", role="AdaptiveDynamicStreaming.part")
    lib.put("attrs", "audio/en/index.m3u8", b"#EXTM3U\n#EXT-X-ENDLIST\n", role="AdaptiveDynamicStreaming.part")
    lib.put("attrs", "iframes.m3u8", b"#EXTM3U\n#EXT-X-ENDLIST\n", role="AdaptiveDynamicStreaming.part")
    text = "\n".join([
        "#EXTM3U",
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",DEFAULT=YES,URI="../audio/en/index.m3u8"',
        '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1000,URI="../iframes.m3u8"',
        '#EXT-X-MAP:URI="init.mp4"',
        "#EXTINF:2.0,",
        "seg%201.m4s",
        "#EXTINF:2.0,",
        "https://cdn.example/elsewhere.m4s",
        "#EXTINF:2.0,",
        "../../../../escape.m4s",
        "#EXT-X-ENDLIST",
    ])  # fmt: skip
    key = lib.put("attrs", "cmaf/index.m3u8", text.encode(), role="AdaptiveDynamicStreaming")
    r = httpx.get(url_for(pb.ctx, pb.private.app_id, "vod", key), timeout=30)
    lines = r.text.splitlines()
    media = URI_ATTR.findall(lines[1])[0]
    iframes = URI_ATTR.findall(lines[2])[0]
    init = URI_ATTR.findall(lines[3])[0]
    assert lines[1].startswith('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",DEFAULT=YES,URI="')
    for url, body in [(media, None), (iframes, None), (init, b"init"), (lines[5], b"seg1")]:
        _assert_signed(pb, url)
        got = httpx.get(url, timeout=30)
        assert got.status_code == 200, url
        if body is not None:
            assert got.content == body
    assert "/audio/en/index.m3u8?" in media
    assert "/cmaf/seg%201.m4s?" in lines[5]
    assert lines[7] == "https://cdn.example/elsewhere.m4s"  # absolute: left alone
    assert lines[9] == "../../../../escape.m4s"  # leaves the app's keys: never signed


def test_public_app_playlists_get_plain_urls(pb: Playback, ladder: Path) -> None:
    master_key = pb.public.lib.put_tree("ladder-pub", "hls", ladder, role="AdaptiveDynamicStreaming",
                                        main="master.m3u8")
    fetched = _crawl(pb, url_for(pb.ctx, pb.public.app_id, "vod", master_key))
    assert len(fetched) == 9
    for url, r in fetched.items():
        assert "?" not in url
        if r.headers["content-type"] == "application/vnd.apple.mpegurl":
            assert r.headers["cache-control"] == "public, max-age=5"


# -- AES-128 ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def encrypted(pb: Playback, tmp_path_factory: pytest.TempPathFactory) -> tuple[Tenant, str, str, bytes]:
    """An AES-128 ladder of the private app: (tenant, master key, key id, key bytes)."""
    tenant = pb.private
    key_id, key = hls_keys.create_key(pb.ctx, tenant.app_id, "encrypted")
    work = tmp_path_factory.mktemp("aes")
    (work / "enc.key").write_bytes(key)
    (work / "keyinfo").write_text(f"{hls_keys.key_ref(key_id)}\n{work / 'enc.key'}\n")
    ladder = make_ladder(work / "hls", key_info=work / "keyinfo")
    assert hls_keys.key_ref(key_id) in (ladder / "v0" / "index.m3u8").read_text()
    master = tenant.lib.put_tree("encrypted", "hls", ladder, role="AdaptiveDynamicStreaming", main="master.m3u8",
                                 info={"encrypted": True})
    return tenant, master, key_id, key


def _variant(pb: Playback, tenant: Tenant, master_key: str) -> str:
    master = httpx.get(url_for(pb.ctx, tenant.app_id, "vod", master_key), timeout=30).text
    return httpx.get(_refs(master)[0], timeout=30).text


def test_key_uri_in_playlist_serves_the_key(pb: Playback, encrypted: tuple[Tenant, str, str, bytes]) -> None:
    tenant, master, key_id, key = encrypted
    variant = _variant(pb, tenant, master)
    key_lines = [line for line in variant.splitlines() if line.startswith("#EXT-X-KEY:")]
    assert key_lines
    key_url = URI_ATTR.findall(key_lines[0])[0]
    assert key_url.startswith(f"{pb.url}/keys/hls/{key_id}?expires=")
    expires = int(parse_qs(urlsplit(key_url).query)["expires"][0])
    assert time.time() < expires <= time.time() + hls_keys.KEY_URI_TTL + 60  # short-lived
    r = httpx.get(key_url, timeout=30)
    assert r.status_code == 200
    assert r.content == key and len(r.content) == 16
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["cache-control"] == "no-store"
    # The key really opens the segments: decrypt the first one (IV = media sequence number).
    seg_url = next(ref for ref in _refs(variant) if ".ts?" in ref)
    data = httpx.get(seg_url, timeout=30).content
    iv_attr = re.search(r"IV=0x([0-9a-fA-F]{32})", key_lines[0])
    iv = bytes.fromhex(iv_attr.group(1)) if iv_attr else (0).to_bytes(16, "big")
    plain = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor().update(data)
    assert plain[0] == 0x47 and plain[188] == 0x47
    assert data[0] != 0x47 or data[188] != 0x47  # and they were encrypted


@pytest.mark.parametrize("how", ["none", "no-expires", "bad-signature", "other-key", "expired"])
def test_key_refused_without_a_valid_grant(pb: Playback, encrypted: tuple[Tenant, str, str, bytes],
                                           how: str) -> None:
    tenant, _, key_id, _ = encrypted
    good = hls_keys.key_uri(pb.ctx, tenant.app_id, key_id)
    q = {k: v[0] for k, v in parse_qs(urlsplit(good).query).items()}
    url = f"{pb.url}/keys/hls/{key_id}"
    params: dict[str, str] = {}
    if how == "no-expires":
        params = {"signature": q["signature"]}
    elif how == "bad-signature":
        params = {**q, "signature": "f" * 64}
    elif how == "other-key":
        other_id, _ = hls_keys.create_key(pb.ctx, tenant.app_id, "encrypted")
        url = f"{pb.url}/keys/hls/{other_id}"
        params = q
    elif how == "expired":
        expired = hls_keys.key_uri(pb.ctx, tenant.app_id, key_id, expires_in=-1)
        params = {k: v[0] for k, v in parse_qs(urlsplit(expired).query).items()}
    r = httpx.get(url, params=params, timeout=30)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == ("AuthFailure.SignatureExpire" if how == "expired"
                                         else "AuthFailure.SignatureFailure")
    assert len(r.content) != 16


def test_object_signature_does_not_open_a_key(pb: Playback, encrypted: tuple[Tenant, str, str, bytes]) -> None:
    tenant, master, key_id, _ = encrypted
    q = parse_qs(urlsplit(url_for(pb.ctx, tenant.app_id, "vod", master)).query)
    r = httpx.get(f"{pb.url}/keys/hls/{key_id}", params={k: v[0] for k, v in q.items()}, timeout=30)
    assert r.status_code == 403


def test_public_app_keys_still_need_a_grant(pb: Playback, tmp_path: Path) -> None:
    tenant = pb.public
    key_id, key = hls_keys.create_key(pb.ctx, tenant.app_id, "pub-enc")
    (tmp_path / "k").write_bytes(key)
    (tmp_path / "info").write_text(f"{hls_keys.key_ref(key_id)}\n{tmp_path / 'k'}\n")
    ladder = make_ladder(tmp_path / "hls", seconds=2, key_info=tmp_path / "info")
    master = tenant.lib.put_tree("pub-enc", "hls", ladder, role="AdaptiveDynamicStreaming", main="master.m3u8")
    variant = _variant(pb, tenant, master)
    key_url = URI_ATTR.findall(next(x for x in variant.splitlines() if x.startswith("#EXT-X-KEY:")))[0]
    assert "signature=" in key_url
    assert httpx.get(key_url, timeout=30).content == key
    assert httpx.get(f"{pb.url}/keys/hls/{key_id}", timeout=30).status_code == 403


def test_another_apps_key_is_not_granted(pb: Playback) -> None:
    other_id, _ = hls_keys.create_key(pb.ctx, pb.public.app_id, "theirs")
    text = f'#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="{hls_keys.key_ref(other_id)}"\n#EXTINF:2,\nseg.ts\n'
    key = pb.private.lib.put("steal", "index.m3u8", text.encode(), role="AdaptiveDynamicStreaming")
    served = httpx.get(url_for(pb.ctx, pb.private.app_id, "vod", key), timeout=30).text
    assert f'URI="{hls_keys.key_ref(other_id)}"' in served
    assert "/keys/hls/" not in served
