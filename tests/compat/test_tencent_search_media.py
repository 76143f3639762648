"""SearchMedia's filters through the official Tencent SDK against a live server: each filter (and
all of them together) answers exactly the media it selects, with their TotalCount; a filter
OpenVOD cannot apply is refused, never ignored.

The library is five media uploaded here, oldest first: a video, then (after ``t1``) an audio
file and an image, then (after ``t2``) a file that is not media and another video."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.compat.test_tencent import call, client
from tests.conftest import make_app_server
from tests.media import make_audio, make_clip, make_garbage, make_image
from tests.servers import InProcessServer
from tests.tus import upload_bytes


@dataclass(frozen=True)
class Library:
    srv: InProcessServer
    ids: dict[str, str]  # FileId by key
    t1: datetime  # after "video-1", before "audio-2"
    t2: datetime  # after "image-3", before "junk-4"
    now: datetime  # after every upload

    def keys(self, answer: dict[str, Any]) -> tuple[list[str], int]:
        names = {fid: key for key, fid in self.ids.items()}
        return [names[m["FileId"]] for m in answer["MediaInfoSet"]], answer["TotalCount"]


# key: (file name, class id, description)
MEDIA = {
    "video-1": ("video-1.mp4", 5, "the first holiday"),
    "audio-2": ("audio-2.m4a", 6, "a talk"),
    "image-3": ("image-3.png", 5, "holiday photo"),
    "junk-4": ("junk-4.bin", 7, ""),
    "video-5": ("video-5.mp4", 6, "another film"),
}
NEWEST_FIRST = ["video-5", "junk-4", "image-3", "audio-2", "video-1"]


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    tmp = tmp_path_factory.mktemp("search-media")
    srv = make_app_server(tmp / "server", {"OPENVOD_WORKERS": "0"})
    files = {
        "video-1": make_clip(tmp / "video-1.mp4", seconds=1, width=160, height=120),
        "audio-2": make_audio(tmp / "audio-2.m4a", seconds=1),
        "image-3": make_image(tmp / "image-3.png"),
        "junk-4": make_garbage(tmp / "junk-4.bin", size=4096),
        "video-5": make_clip(tmp / "video-5.mp4", seconds=1, width=160, height=120),
    }
    ids, marks = {}, {}
    try:
        with srv.client() as h:
            for key, path in files.items():
                if key in ("audio-2", "junk-4"):
                    marks[key] = datetime.now(UTC)
                name, class_id, _ = MEDIA[key]
                ids[key] = upload_bytes(h, path.read_bytes(), name, class_id=str(class_id))
        now = datetime.now(UTC)
        c = client(srv)  # type: ignore[arg-type]
        for key, (_, _, description) in MEDIA.items():
            expires = {"video-1": now + timedelta(days=10), "audio-2": now + timedelta(days=2)}.get(key)
            call(c, "ModifyMediaInfo", {"FileId": ids[key], "Description": description,
                                        **({"ExpireTime": _iso(expires)} if expires else {})})
        yield Library(srv, ids, marks["audio-2"], marks["junk-4"], now)
    finally:
        srv.stop()


def search(lib: Library, params: dict[str, Any]) -> tuple[list[str], int]:
    return lib.keys(call(client(lib.srv), "SearchMedia", {"Limit": 50, **params}))  # type: ignore[arg-type]


def refused(lib: Library, params: dict[str, Any], *, raw: bool = False) -> tuple[str, str]:
    c = client(lib.srv)  # type: ignore[arg-type]
    with pytest.raises(TencentCloudSDKException) as err:
        c.call_json("SearchMedia", params) if raw else call(c, "SearchMedia", params)
    return str(err.value.get_code()), str(err.value.get_message())


def test_no_filter_is_every_media_newest_first(lib: Library) -> None:
    assert search(lib, {}) == (NEWEST_FIRST, 5)


def test_class_ids_any_of_them(lib: Library) -> None:
    assert search(lib, {"ClassIds": [5, 7]}) == (["junk-4", "image-3", "video-1"], 3)
    assert search(lib, {"ClassIds": [6]}) == (["video-5", "audio-2"], 2)
    assert search(lib, {"ClassIds": [8]}) == ([], 0)
    code, _ = refused(lib, {"ClassIds": list(range(11))})
    assert code == "InvalidParameterValue.ClassIds"


def test_categories_as_media_info_shows_them(lib: Library) -> None:
    videos = call(client(lib.srv), "SearchMedia", {"Categories": ["Video"]})  # type: ignore[arg-type]
    # The file that is not media is shown as a Video (its MediaInfo's Category), so it is one here.
    assert lib.keys(videos) == (["video-5", "junk-4", "video-1"], 3)
    assert {m["BasicInfo"]["Category"] for m in videos["MediaInfoSet"]} == {"Video"}
    assert search(lib, {"Categories": ["Audio", "Image"]}) == (["image-3", "audio-2"], 2)
    assert search(lib, {"Categories": ["Image"]}) == (["image-3"], 1)
    code, message = refused(lib, {"Categories": ["Movie"]})
    assert code == "InvalidParameterValue.Categories" and "Movie" in message


def test_create_time_after_inclusive_before_exclusive(lib: Library) -> None:
    assert search(lib, {"CreateTime": {"After": _iso(lib.t1), "Before": _iso(lib.t2)}}) == (
        ["image-3", "audio-2"], 2)
    assert search(lib, {"CreateTime": {"After": _iso(lib.t2)}}) == (["video-5", "junk-4"], 2)
    assert search(lib, {"CreateTime": {"Before": _iso(lib.t1)}}) == (["video-1"], 1)
    assert search(lib, {"CreateTime": {"After": _iso(lib.now)}}) == ([], 0)
    # The older StartTime / EndTime stand in for the bounds CreateTime lacks.
    assert search(lib, {"StartTime": _iso(lib.t1), "CreateTime": {"Before": _iso(lib.t2)}}) == (
        ["image-3", "audio-2"], 2)
    assert search(lib, {"EndTime": _iso(lib.t1)}) == (["video-1"], 1)
    # An offset names the zone; a time without one is UTC.
    shanghai = lib.t2.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=8)
    assert search(lib, {"CreateTime": {"After": shanghai.isoformat() + "+08:00"}})[1] == 2
    assert search(lib, {"CreateTime": {"Before": lib.t1.replace(tzinfo=None).isoformat()}})[1] == 1
    # Each response's CreateTime (to the second) agrees with the range it was found by.
    whole_second = lib.t2.replace(microsecond=0) + timedelta(seconds=1)
    found = call(client(lib.srv), "SearchMedia", {"CreateTime": {"After": _iso(whole_second)}})  # type: ignore[arg-type]
    assert all(m["BasicInfo"]["CreateTime"] >= _iso(whole_second) for m in found["MediaInfoSet"])
    for bad in ({"After": "yesterday"}, {"Before": "2026-13-01T00:00:00Z"},
                {"After": _iso(lib.t2), "Before": _iso(lib.t1)}):
        code, _ = refused(lib, {"CreateTime": bad})
        assert code == "InvalidParameterValue.CreateTime", bad


def test_sort_by_create_time_either_way(lib: Library) -> None:
    assert search(lib, {"Sort": {"Field": "CreateTime", "Order": "Asc"}}) == (NEWEST_FIRST[::-1], 5)
    assert search(lib, {"Sort": {"Field": "CreateTime", "Order": "Desc"}, "Offset": 1, "Limit": 2}) == (
        ["junk-4", "image-3"], 5)
    assert search(lib, {"Sort": {"Field": "CreateTime", "Order": "Asc"}, "Offset": 3, "Limit": 10}) == (
        ["junk-4", "video-5"], 5)
    for bad in ({"Field": "Name", "Order": "Asc"}, {"Field": "CreateTime", "Order": "Up"}):
        code, _ = refused(lib, {"Sort": bad})
        assert code == "InvalidParameterValue.Sort", bad


def test_expire_time_never_expiring_media_only_without_an_end(lib: Library) -> None:
    week = _iso(lib.now + timedelta(days=7))
    assert search(lib, {"ExpireTime": {"After": _iso(lib.now)}}) == (NEWEST_FIRST, 5)
    assert search(lib, {"ExpireTime": {"After": week}}) == (["video-5", "junk-4", "image-3", "video-1"], 4)
    assert search(lib, {"ExpireTime": {"After": _iso(lib.now), "Before": week}}) == (["audio-2"], 1)
    code, _ = refused(lib, {"ExpireTime": {"After": "soon"}})
    assert code == "InvalidParameterValue.ExpireTime"


def test_source_types_every_media_was_uploaded(lib: Library) -> None:
    assert search(lib, {"SourceTypes": ["Upload", "Record"]}) == (NEWEST_FIRST, 5)
    assert search(lib, {"SourceTypes": ["Record", "VideoProcessing"]}) == ([], 0)
    assert search(lib, {"SourceType": "TrtcRecord"}) == ([], 0)
    code, _ = refused(lib, {"SourceTypes": ["upload"]})
    assert code == "InvalidParameterValue.SourceTypes"


def test_live_stream_filters_match_no_media(lib: Library) -> None:
    """OpenVOD records no live stream: no media has a stream id, a Vid, a stream domain or path."""
    assert search(lib, {"StreamIds": ["stream-1"]}) == ([], 0)
    assert search(lib, {"Vids": ["5285890784246869930"]}) == ([], 0)
    assert search(lib, {"StreamDomains": ["push.example.com"], "ClassIds": [5]}) == ([], 0)
    assert search(lib, {"StreamIds": [], "Vids": [], "ClassIds": [7]}) == (["junk-4"], 1)  # empty: no filter


def test_file_ids_names_and_descriptions_are_filters_too(lib: Library) -> None:
    ids = lib.ids
    assert search(lib, {"FileIds": [ids["video-1"], ids["audio-2"], "1700000000000000000"]}) == (
        ["audio-2", "video-1"], 2)
    assert search(lib, {"FileIds": [ids["video-1"], ids["audio-2"]], "Categories": ["Audio"]}) == (["audio-2"], 1)
    assert search(lib, {"Descriptions": ["holiday"]}) == (["image-3", "video-1"], 2)
    assert search(lib, {"Names": ["video"], "Descriptions": ["film", "first"]}) == (["video-5", "video-1"], 2)
    assert search(lib, {"NamePrefixes": ["audio", "junk"], "ClassIds": [6, 7]}) == (["junk-4", "audio-2"], 2)


def test_all_filters_together(lib: Library) -> None:
    assert search(lib, {
        "ClassIds": [5, 6], "Categories": ["Video", "Image"], "CreateTime": {"After": _iso(lib.t1)},
        "ExpireTime": {"After": _iso(lib.now)}, "SourceTypes": ["Upload"], "Sort": {"Field": "CreateTime",
                                                                                     "Order": "Asc"}}) == (
        ["image-3", "video-5"], 2)
    # ClassId, the older single form (not in today's SDK), applies beside ClassIds.
    answer = client(lib.srv).call_json("SearchMedia", {"ClassId": 5, "ClassIds": [5, 6]})  # type: ignore[arg-type]
    assert lib.keys(answer["Response"]) == (["image-3", "video-1"], 2)


@pytest.mark.parametrize("param", [
    {"Tags": ["holiday"]}, {"StorageRegions": ["ap-chongqing"]}, {"StorageClasses": ["STANDARD"]},
    {"MediaTypes": ["mp4"]}, {"Status": ["Normal"]}, {"ReviewResults": ["pass"]}, {"TrtcSdkAppIds": [1400000000]},
    {"TrtcRoomIds": ["room-1"]},
])
def test_filters_openvod_cannot_apply_are_refused(lib: Library, param: dict[str, Any]) -> None:
    code, message = refused(lib, {"ClassIds": [5], **param})
    (name,) = param
    assert code == "UnsupportedOperation" and name in message, message


def test_unknown_parameters_are_refused_and_empty_ones_ignored(lib: Library) -> None:
    code, message = refused(lib, {"Colour": "red"}, raw=True)
    assert code == "UnknownParameter" and "Colour" in message
    assert search(lib, {"Tags": [], "StorageRegions": [], "ClassIds": [6]}) == (["video-5", "audio-2"], 2)


def test_modify_media_info_reads_an_expire_time_without_offset_as_utc(lib: Library) -> None:
    """ModifyMediaInfo's ExpireTime is parsed as SearchMedia's times are: without an offset it is
    UTC (it used to reach the database as a naive time and fail), an unreadable one is refused."""
    same = (lib.now + timedelta(days=10)).replace(tzinfo=None).isoformat()  # video-1's, unchanged
    c = client(lib.srv)  # type: ignore[arg-type]
    call(c, "ModifyMediaInfo", {"FileId": lib.ids["video-1"], "ExpireTime": same})
    window = {"After": _iso(lib.now + timedelta(days=9)), "Before": _iso(lib.now + timedelta(days=11))}
    assert search(lib, {"ExpireTime": window}) == (["video-1"], 1)
    with pytest.raises(TencentCloudSDKException) as err:
        call(c, "ModifyMediaInfo", {"FileId": lib.ids["video-1"], "ExpireTime": "２０３０-01-01T00:00:00Z"})
    assert err.value.get_code() == "InvalidParameterValue.ExpireTime"
