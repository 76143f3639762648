"""Templates (Tencent's parameter names, ranges and codes), system templates, and task flows."""

from __future__ import annotations

from typing import Any

import pytest

from openvod.domain.templates import (
    MAX_STEPS,
    SYSTEM_TEMPLATES,
    TASK_SETS,
    USER_DEFINITION_BASE,
    StepKind,
    StepSpec,
    TemplateKind,
    TimePoint,
    expand_steps,
    merge_params,
    normalize_task,
    parse_kind,
    template_refs,
    time_points,
    validate_comment,
    validate_name,
    validate_params,
    validate_procedure_name,
)
from openvod.errors import InvalidParameter

VIDEO_DEFAULTS = {"Codec": "libx264", "Fps": 0, "Bitrate": 0, "Width": 0, "Height": 0, "ResolutionAdaptive": "open",
                  "FillType": "black", "Vcrf": 0, "Gop": 0}
AUDIO_DEFAULTS = {"Codec": "libfdk_aac", "Bitrate": 0, "SampleRate": 44100, "AudioChannel": 2}


def refused(kind: str, params: Any) -> tuple[str, str]:
    with pytest.raises(InvalidParameter) as err:
        validate_params(kind, params)
    return err.value.code, err.value.message


def task_refused(task: Any) -> tuple[str, str]:
    with pytest.raises(InvalidParameter) as err:
        normalize_task(task)
    return err.value.code, err.value.message


# --- defaults, per kind ----------------------------------------------------------------------------


def test_animated_graphics_defaults_and_required_fps() -> None:
    assert validate_params("AnimatedGraphics", {"Fps": 10}) == {
        "Format": "gif", "Width": 0, "Height": 0, "ResolutionAdaptive": "open", "Fps": 10, "Quality": 75}
    assert refused("AnimatedGraphics", {}) == ("MissingParameter", "AnimatedGraphics.Fps is required")


def test_snapshot_by_time_offset_defaults() -> None:
    assert validate_params("SnapshotByTimeOffset", {}) == {
        "Format": "jpg", "Width": 0, "Height": 0, "ResolutionAdaptive": "open", "FillType": "black"}


def test_sample_snapshot_defaults_and_required_sampling() -> None:
    assert validate_params("SampleSnapshot", {"SampleType": "Time", "SampleInterval": 5}) == {
        "SampleType": "Time", "SampleInterval": 5, "Format": "jpg", "Width": 0, "Height": 0,
        "ResolutionAdaptive": "open", "FillType": "black"}
    assert refused("SampleSnapshot", {"SampleType": "Time"}) == (
        "MissingParameter", "SampleSnapshot.SampleInterval is required")


def test_image_sprite_defaults() -> None:
    params = {"SampleType": "Percent", "SampleInterval": 5, "RowCount": 4, "ColumnCount": 5, "Width": 160}
    assert validate_params("ImageSprite", params) == {
        "SampleType": "Percent", "SampleInterval": 5, "RowCount": 4, "ColumnCount": 5, "Format": "jpg",
        "Width": 160, "Height": 0, "ResolutionAdaptive": "open", "FillType": "black"}


def test_transcode_defaults_fill_both_stream_templates() -> None:
    assert validate_params("Transcode", {"Container": "mp4", "VideoTemplate": {"Height": 720, "Bitrate": 1800},
                                         "AudioTemplate": {}}) == {
        "Container": "mp4", "RemoveVideo": 0, "RemoveAudio": 0,
        "VideoTemplate": {**VIDEO_DEFAULTS, "Height": 720, "Bitrate": 1800}, "AudioTemplate": AUDIO_DEFAULTS}


def test_transcode_hls_gets_a_segment_type_and_audio_only_containers_drop_video() -> None:
    hls = validate_params("Transcode", {"Container": "hls", "VideoTemplate": {}, "AudioTemplate": {}})
    assert hls["SegmentType"] == "ts"
    mp3 = validate_params("Transcode", {"Container": "MP3", "VideoTemplate": {"Codec": "libx264"},
                                        "AudioTemplate": {"Bitrate": 128}, "SegmentType": "ts"})
    assert mp3 == {"Container": "mp3", "RemoveVideo": 1, "RemoveAudio": 0,
                   "AudioTemplate": {**AUDIO_DEFAULTS, "Codec": "libmp3lame", "Bitrate": 128}}


def test_transcode_removed_video_drops_its_template() -> None:
    params = validate_params("Transcode", {"Container": "mp4", "RemoveVideo": 1, "VideoTemplate": {"Fps": 5},
                                           "AudioTemplate": {}})
    assert "VideoTemplate" not in params and params["RemoveVideo"] == 1


def test_adaptive_dynamic_streaming_defaults() -> None:
    params = validate_params("AdaptiveDynamicStreaming", {"Format": "hls", "StreamInfos": [
        {"Video": {"Height": 360, "Bitrate": 600}, "Audio": {}}]})
    assert params == {
        "Format": "HLS", "DrmType": "", "DisableHigherVideoBitrate": 0, "DisableHigherVideoResolution": 0,
        "SegmentType": "ts", "StreamInfos": [{"RemoveVideo": 0, "RemoveAudio": 0,
                                              "Video": {**VIDEO_DEFAULTS, "Height": 360, "Bitrate": 600},
                                              "Audio": AUDIO_DEFAULTS}]}
    dash = validate_params("AdaptiveDynamicStreaming", {"Format": "MPEG-DASH", "StreamInfos": [
        {"Video": {}, "RemoveAudio": 1}]})
    assert "SegmentType" not in dash and "Audio" not in dash["StreamInfos"][0]


def test_choices_match_any_case_and_store_tencents_spelling() -> None:
    params = validate_params("SampleSnapshot", {"SampleType": "percent", "SampleInterval": 10, "Format": "PNG",
                                                "ResolutionAdaptive": "CLOSE", "FillType": "Gauss"})
    assert (params["SampleType"], params["Format"], params["ResolutionAdaptive"], params["FillType"]) == (
        "Percent", "png", "close", "gauss")


def test_null_fields_count_as_absent() -> None:
    assert validate_params("AnimatedGraphics", {"Fps": 5, "Width": None})["Width"] == 0


# --- refusals: codes and messages ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "params", "code", "message"),
    [
        ("AnimatedGraphics", {"Fps": 31}, "InvalidParameterValue.Fps",
         "AnimatedGraphics.Fps must be a whole number, 1 to 30, got 31"),
        ("AnimatedGraphics", {"Fps": 10, "Format": "apng"}, "InvalidParameterValue.Format",
         "AnimatedGraphics.Format must be one of gif, webp, got 'apng'"),
        ("AnimatedGraphics", {"Fps": 10, "Quality": 0}, "InvalidParameterValue.Quality",
         "AnimatedGraphics.Quality must be from 1 to 100, got 0"),
        ("AnimatedGraphics", {"Fps": 10, "Width": 64}, "InvalidParameterValue.Width",
         "AnimatedGraphics.Width must be a whole number, 0 or 128 to 4096, got 64"),
        ("AnimatedGraphics", {"Fps": "10"}, "InvalidParameterValue.Fps",
         "AnimatedGraphics.Fps must be a whole number, 1 to 30, got '10'"),
        ("AnimatedGraphics", {"Fps": True}, "InvalidParameterValue.Fps",
         "AnimatedGraphics.Fps must be a whole number, 1 to 30, got True"),
        ("AnimatedGraphics", {"Fps": 10, "Colour": "red"}, "UnknownParameter",
         "AnimatedGraphics has unknown or unsupported parameter 'Colour'; supported: Format, Width, Height, "
         "ResolutionAdaptive, Fps, Quality"),
        ("AnimatedGraphics", [1], "InvalidParameterValue.AnimatedGraphics",
         "AnimatedGraphics must be an object, got a list"),
        ("SnapshotByTimeOffset", {"Height": 5000}, "InvalidParameterValue.Height",
         "SnapshotByTimeOffset.Height must be a whole number, 0 or 128 to 4096, got 5000"),
        ("SnapshotByTimeOffset", {"FillType": "blur"}, "InvalidParameterValue.FillType",
         "SnapshotByTimeOffset.FillType must be one of stretch, black, white, gauss, got 'blur'"),
        ("SnapshotByTimeOffset", {"ResolutionAdaptive": "on"}, "InvalidParameterValue.ResolutionAdaptive",
         "SnapshotByTimeOffset.ResolutionAdaptive must be one of open, close, got 'on'"),
        ("SampleSnapshot", {"SampleType": "Percent", "SampleInterval": 150}, "InvalidParameterValue.SampleInterval",
         "SampleSnapshot.SampleInterval must be a whole number, 1 to 100, got 150"),
        ("SampleSnapshot", {"SampleType": "Frames", "SampleInterval": 1}, "InvalidParameterValue.SampleType",
         "SampleSnapshot.SampleType must be one of Percent, Time, got 'Frames'"),
        ("ImageSprite", {"SampleType": "Time", "SampleInterval": 1, "RowCount": 11, "ColumnCount": 10},
         "InvalidParameterValue.RowCount",
         "ImageSprite.RowCount x ColumnCount may be at most 100 tiles per sprite, got 11 x 10"),
        ("ImageSprite", {"SampleType": "Time", "SampleInterval": 1, "RowCount": 2, "ColumnCount": 0},
         "InvalidParameterValue.ColumnCount", "ImageSprite.ColumnCount must be a whole number, 1 to 100, got 0"),
        ("ImageSprite", {"SampleType": "Time", "SampleInterval": 1, "RowCount": 2, "ColumnCount": 2,
                         "FillType": "white"}, "InvalidParameterValue.FillType",
         "ImageSprite.FillType must be one of stretch, black, got 'white'"),
        ("Transcode", {"Container": "avi"}, "InvalidParameterValue.Container",
         "Transcode.Container must be one of mp4, flv, hls, mp3, flac, ogg, m4a, wav, got 'avi'"),
        ("Transcode", {}, "MissingParameter", "Transcode.Container is required"),
        ("Transcode", {"Container": "mp4", "AudioTemplate": {}}, "MissingParameter",
         "Transcode.VideoTemplate is required"),
        ("Transcode", {"Container": "mp4", "RemoveVideo": 1, "RemoveAudio": 1}, "InvalidParameterValue.RemoveAudio",
         "Transcode.RemoveAudio is 1 and RemoveVideo is 1: nothing would be left to encode"),
        ("Transcode", {"Container": "m4a", "RemoveAudio": 1}, "InvalidParameterValue.RemoveAudio",
         "Transcode.RemoveAudio is 1 and Container m4a holds audio only: nothing would be left to encode"),
        ("Transcode", {"Container": "mp4", "RemoveVideo": 2}, "InvalidParameterValue.RemoveVideo",
         "Transcode.RemoveVideo must be one of 0, 1, got 2"),
        ("Transcode", {"Container": "flv", "VideoTemplate": {"Codec": "libx265"}, "AudioTemplate": {}},
         "InvalidParameterValue.VideoCodec", "Transcode.VideoTemplate.Codec must be one of libx264, got 'libx265'"),
        ("Transcode", {"Container": "mp4", "VideoTemplate": {"Bitrate": 50}, "AudioTemplate": {}},
         "InvalidParameterValue.VideoBitrate",
         "Transcode.VideoTemplate.Bitrate must be a whole number, 0 or 128 to 100000, got 50"),
        ("Transcode", {"Container": "mp4", "VideoTemplate": {"Fps": 120}, "AudioTemplate": {}},
         "InvalidParameterValue.Fps", "Transcode.VideoTemplate.Fps must be a whole number, 0 to 100, got 120"),
        ("Transcode", {"Container": "mp4", "VideoTemplate": {"Width": 9000}, "AudioTemplate": {}},
         "InvalidParameterValue.Width",
         "Transcode.VideoTemplate.Width must be a whole number, 0 or 128 to 8192, got 9000"),
        ("Transcode", {"Container": "mp4", "VideoTemplate": {"Vcrf": 60}, "AudioTemplate": {}},
         "InvalidParameterValue.Vcrf", "Transcode.VideoTemplate.Vcrf must be a whole number, 0 or 1 to 51, got 60"),
        ("Transcode", {"Container": "mp4", "VideoTemplate": {"HlsTime": 4}, "AudioTemplate": {}},
         "UnknownParameter", "Transcode.VideoTemplate has unknown or unsupported parameter 'HlsTime'; supported: "
         "Codec, Fps, Bitrate, ResolutionAdaptive, Width, Height, FillType, Vcrf, Gop"),
        ("Transcode", {"Container": "mp4", "VideoTemplate": 1, "AudioTemplate": {}},
         "InvalidParameterValue.VideoTemplate", "Transcode.VideoTemplate must be an object, got int"),
        ("Transcode", {"Container": "mp3", "AudioTemplate": {"Codec": "libfdk_aac"}},
         "InvalidParameterValue.AudioCodec",
         "Transcode.AudioTemplate.Codec must be one of libmp3lame, got 'libfdk_aac'"),
        ("Transcode", {"Container": "mp4", "VideoTemplate": {}, "AudioTemplate": {"Bitrate": 300}},
         "InvalidParameterValue.AudioBitrate",
         "Transcode.AudioTemplate.Bitrate must be a whole number, 0 or 26 to 256, got 300"),
        ("Transcode", {"Container": "mp4", "VideoTemplate": {}, "AudioTemplate": {"SampleRate": 22050}},
         "InvalidParameterValue.AudioSampleRate",
         "Transcode.AudioTemplate.SampleRate must be one of 32000, 44100, 48000, got 22050"),
        ("Transcode", {"Container": "m4a", "AudioTemplate": {"AudioChannel": 6}}, "InvalidParameterValue.AudioChannel",
         "Transcode.AudioTemplate.AudioChannel must be one of 0, 1, 2, got 6"),
        ("Transcode", {"Container": "hls", "VideoTemplate": {}, "AudioTemplate": {}, "SegmentType": "mp4"},
         "InvalidParameterValue.SegmentType", "Transcode.SegmentType must be one of ts, fmp4, got 'mp4'"),
        ("AdaptiveDynamicStreaming", {"StreamInfos": [{"Video": {}, "Audio": {}}]}, "MissingParameter",
         "AdaptiveDynamicStreaming.Format is required"),
        ("AdaptiveDynamicStreaming", {"Format": "HLS"}, "MissingParameter",
         "AdaptiveDynamicStreaming.StreamInfos is required"),
        ("AdaptiveDynamicStreaming", {"Format": "HLS", "StreamInfos": []}, "InvalidParameterValue.StreamInfos",
         "AdaptiveDynamicStreaming.StreamInfos must list 1 to 10 streams, got none"),
        ("AdaptiveDynamicStreaming", {"Format": "HLS", "StreamInfos": [{"Video": {}, "Audio": {}}] * 11},
         "InvalidParameterValue.StreamInfos",
         "AdaptiveDynamicStreaming.StreamInfos may list at most 10 items, got 11"),
        ("AdaptiveDynamicStreaming", {"Format": "HLS", "StreamInfos": [{"Audio": {}}]}, "MissingParameter",
         "AdaptiveDynamicStreaming.StreamInfos[0].Video is required"),
        ("AdaptiveDynamicStreaming", {"Format": "HLS", "StreamInfos": [{"RemoveVideo": 1, "RemoveAudio": 1}]},
         "InvalidParameterValue.RemoveAudio",
         "AdaptiveDynamicStreaming.StreamInfos[0]: RemoveVideo and RemoveAudio are both 1, nothing would be left"),
        ("AdaptiveDynamicStreaming", {"Format": "HLS", "DrmType": "Widevine",
                                      "StreamInfos": [{"Video": {}, "Audio": {}}]}, "InvalidParameterValue.DrmType",
         "AdaptiveDynamicStreaming.DrmType Widevine needs a DRM licence service, which OpenVOD does not have; "
         "use SimpleAES (HLS AES-128) or leave it empty"),
        ("AdaptiveDynamicStreaming", {"Format": "MPEG-DASH", "DrmType": "SimpleAES",
                                      "StreamInfos": [{"Video": {}, "Audio": {}}]}, "InvalidParameterValue.DrmType",
         "AdaptiveDynamicStreaming.DrmType SimpleAES encrypts HLS only, not MPEG-DASH"),
        ("AdaptiveDynamicStreaming", {"Format": "HLS", "StreamInfos": [{"Video": {"Codec": "vp9"}, "Audio": {}}]},
         "InvalidParameterValue.VideoCodec",
         "AdaptiveDynamicStreaming.StreamInfos[0].Video.Codec must be one of libx264, libx265, av1, got 'vp9'"),
        ("AdaptiveDynamicStreaming", {"Format": "HLS", "DisableHigherVideoBitrate": 3,
                                      "StreamInfos": [{"Video": {}, "Audio": {}}]},
         "InvalidParameterValue.DisableHigherVideoBitrate",
         "AdaptiveDynamicStreaming.DisableHigherVideoBitrate must be one of 0, 1, got 3"),
    ],
)
def test_bad_values_are_refused_with_tencents_codes(kind: str, params: Any, code: str, message: str) -> None:
    assert refused(kind, params) == (code, message)


def test_kinds_parse_in_any_case_and_unknown_ones_are_refused() -> None:
    assert parse_kind("animatedgraphics") is TemplateKind.ANIMATED_GRAPHICS
    with pytest.raises(InvalidParameter) as err:
        parse_kind("Mosaic")
    assert err.value.code == "InvalidParameterValue.TemplateKind"
    assert "Transcode, AnimatedGraphics, SnapshotByTimeOffset" in err.value.message


def test_names_comments_and_procedure_names() -> None:
    assert validate_name("x" * 64) == "x" * 64
    with pytest.raises(InvalidParameter, match="at most 64 characters, got 65") as err:
        validate_name("x" * 65)
    assert err.value.code == "InvalidParameterValue.Name"
    with pytest.raises(InvalidParameter) as err:
        validate_comment("c" * 257)
    assert err.value.code == "InvalidParameterValue.Comment"
    assert validate_procedure_name("转码加封面") == "转码加封面"
    for bad in ("", " x", "a/b", ".", "..", "x" * 21, "tab\there", 7):
        with pytest.raises(InvalidParameter) as err:
            validate_procedure_name(bad)
        assert err.value.code == "InvalidParameterValue.ProcedureName"


# --- Modify semantics ------------------------------------------------------------------------------


def test_merge_keeps_unnamed_fields_and_merges_nested_templates() -> None:
    current = validate_params("Transcode", {"Container": "mp4", "VideoTemplate": {"Height": 720, "Bitrate": 1800},
                                            "AudioTemplate": {"Bitrate": 128}})
    merged = merge_params("Transcode", current, {"VideoTemplate": {"Bitrate": 2500}})
    assert merged["VideoTemplate"]["Height"] == 720 and merged["VideoTemplate"]["Bitrate"] == 2500
    assert merged["AudioTemplate"] == current["AudioTemplate"]
    audio = merge_params("Transcode", current, {"Container": "m4a"})
    assert "VideoTemplate" not in audio and audio["RemoveVideo"] == 1


def test_merge_replaces_lists_and_validates_the_result() -> None:
    current = validate_params("AdaptiveDynamicStreaming", {"Format": "HLS", "StreamInfos": [
        {"Video": {"Height": 360}, "Audio": {}}, {"Video": {"Height": 720}, "Audio": {}}]})
    merged = merge_params("AdaptiveDynamicStreaming", current, {"StreamInfos": [{"Video": {}, "Audio": {}}]})
    assert len(merged["StreamInfos"]) == 1
    with pytest.raises(InvalidParameter) as err:
        merge_params("AnimatedGraphics", validate_params("AnimatedGraphics", {"Fps": 5}), {"Fps": 0})
    assert err.value.code == "InvalidParameterValue.Fps"


# --- system templates ------------------------------------------------------------------------------


def test_system_templates_carry_tencents_definitions() -> None:
    assert {kind: sorted(found) for kind, found in SYSTEM_TEMPLATES.items()} == {
        TemplateKind.TRANSCODE: [1010, 1020, 1100, 1110, 1120, 1130, 1140, 100010, 100020, 100030, 100040, 100070,
                                 100080, 100210, 100220, 100230, 100240, 100270, 100280],
        TemplateKind.ANIMATED_GRAPHICS: [20000, 20001],
        TemplateKind.SNAPSHOT_BY_TIME_OFFSET: [10],
        TemplateKind.SAMPLE_SNAPSHOT: [10],
        TemplateKind.IMAGE_SPRITE: [10],
        TemplateKind.WATERMARK: [],
        TemplateKind.ADAPTIVE_DYNAMIC_STREAMING: [10, 12, 20, 30],  # 30: OpenVOD's per-title ladder
    }
    assert all(d < USER_DEFINITION_BASE for found in SYSTEM_TEMPLATES.values() for d in found)


def test_system_template_params_follow_tencents_tables() -> None:
    t = SYSTEM_TEMPLATES[TemplateKind.TRANSCODE]
    assert t[100030].params == {"Container": "mp4", "RemoveVideo": 0, "RemoveAudio": 0,
                                "VideoTemplate": {**VIDEO_DEFAULTS, "Fps": 25, "Bitrate": 1800, "Height": 720},
                                "AudioTemplate": {**AUDIO_DEFAULTS, "Bitrate": 128}}
    assert t[100210].params["Container"] == "hls" and t[100210].params["VideoTemplate"]["Height"] == 360
    assert t[1020].params == {"Container": "mp3", "RemoveVideo": 1, "RemoveAudio": 0,
                              "AudioTemplate": {**AUDIO_DEFAULTS, "Codec": "libmp3lame", "Bitrate": 320}}
    gif = SYSTEM_TEMPLATES[TemplateKind.ANIMATED_GRAPHICS][20000].params
    assert (gif["Format"], gif["Fps"], gif["Width"], gif["Height"]) == ("gif", 2, 0, 0)
    assert SYSTEM_TEMPLATES[TemplateKind.SNAPSHOT_BY_TIME_OFFSET][10].params["FillType"] == "stretch"
    sample = SYSTEM_TEMPLATES[TemplateKind.SAMPLE_SNAPSHOT][10].params
    assert (sample["SampleType"], sample["SampleInterval"]) == ("Percent", 10)
    sprite = SYSTEM_TEMPLATES[TemplateKind.IMAGE_SPRITE][10].params
    assert (sprite["Width"], sprite["Height"], sprite["RowCount"], sprite["ColumnCount"], sprite["SampleType"],
            sprite["SampleInterval"]) == (142, 80, 10, 10, "Time", 10)
    ads = SYSTEM_TEMPLATES[TemplateKind.ADAPTIVE_DYNAMIC_STREAMING]
    assert [(ads[d].params["Format"], ads[d].params["DrmType"], ads[d].params["DisableHigherVideoResolution"])
            for d in (10, 12, 20)] == [("HLS", "", 1), ("HLS", "SimpleAES", 1), ("MPEG-DASH", "", 0)]
    rungs = [(s["Video"]["Height"], s["Video"]["Bitrate"], s["Video"]["Fps"], s["Audio"]["Bitrate"])
             for s in ads[10].params["StreamInfos"]]
    assert rungs == [(240, 256, 24, 48), (480, 512, 24, 48), (720, 512, 24, 48), (1080, 1024, 24, 48),
                     (1440, 3072, 24, 48), (2160, 6144, 24, 48)]


def test_apps_may_not_copy_system_values_outside_the_custom_ranges() -> None:
    # ImageSprite 10's 80 px tiles are below the 128 px an app's template may ask for.
    params = dict(SYSTEM_TEMPLATES[TemplateKind.IMAGE_SPRITE][10].params)
    assert refused("ImageSprite", params)[0] == "InvalidParameterValue.Height"


# --- task flows ------------------------------------------------------------------------------------

FULL_TASK = {
    # deliberately not in Tencent's order: steps still come out in TASK_SETS order
    "AdaptiveDynamicStreamingTaskSet": [{"Definition": 10}],
    "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Percent", "PositionValue": 50}],
    "ImageSpriteTaskSet": [{"Definition": 10}],
    "SampleSnapshotTaskSet": [{"Definition": 10}],
    "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s", "2.5s", "50%"]}],
    "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 3},
                               {"Definition": 20000, "StartTimeOffset": 5, "EndTimeOffset": 8}],
    "TranscodeTaskSet": [{"Definition": 100030}, {"Definition": 100010, "StartTimeOffset": 1.5}],
}


def test_expand_steps_follows_tencents_set_order_then_list_order() -> None:
    steps = expand_steps(FULL_TASK)
    assert [(s.kind, s.definition) for s in steps] == [
        (StepKind.TRANSCODE, 100030), (StepKind.TRANSCODE, 100010),
        (StepKind.ANIMATED_GRAPHICS, 20000), (StepKind.ANIMATED_GRAPHICS, 20000),
        (StepKind.SNAPSHOT_BY_TIME_OFFSET, 10), (StepKind.SAMPLE_SNAPSHOT, 10), (StepKind.IMAGE_SPRITES, 10),
        (StepKind.COVER_BY_SNAPSHOT, 10), (StepKind.ADAPTIVE_DYNAMIC_STREAMING, 10),
    ]
    assert steps[1] == StepSpec(StepKind.TRANSCODE, 100010, {"StartTimeOffset": 1.5})
    assert steps[3].params == {"StartTimeOffset": 5, "EndTimeOffset": 8}
    assert steps[7].input() == {"Definition": 10, "PositionType": "Percent", "PositionValue": 50}
    assert [s.template_kind for s in steps][-2:] == [TemplateKind.SNAPSHOT_BY_TIME_OFFSET,
                                                    TemplateKind.ADAPTIVE_DYNAMIC_STREAMING]
    assert [name for name, _ in TASK_SETS] == list(normalize_task(FULL_TASK))


def test_normalize_is_idempotent_and_drops_empty_sets() -> None:
    canonical = normalize_task({**FULL_TASK, "SampleSnapshotTaskSet": [], "ImageSpriteTaskSet": None})
    assert "SampleSnapshotTaskSet" not in canonical and "ImageSpriteTaskSet" not in canonical
    assert normalize_task(canonical) == canonical


def test_template_refs_map_covers_to_snapshot_templates_once_each() -> None:
    refs = template_refs(normalize_task(FULL_TASK))
    assert refs == [(TemplateKind.TRANSCODE, 100030), (TemplateKind.TRANSCODE, 100010),
                    (TemplateKind.ANIMATED_GRAPHICS, 20000), (TemplateKind.SNAPSHOT_BY_TIME_OFFSET, 10),
                    (TemplateKind.SAMPLE_SNAPSHOT, 10), (TemplateKind.IMAGE_SPRITE, 10),
                    (TemplateKind.ADAPTIVE_DYNAMIC_STREAMING, 10)]


def test_time_points_read_seconds_percent_and_legacy_milliseconds() -> None:
    ext = expand_steps({"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s", "50%"]}]})
    points = time_points(ext[0].params)
    assert points == [TimePoint(seconds=1.0), TimePoint(percent=50.0)]
    assert [p.at(10.0) for p in points] == [1.0, 5.0]
    legacy = expand_steps({"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "TimeOffsetSet": [1500, 0]}]})
    assert time_points(legacy[0].params) == [TimePoint(seconds=1.5), TimePoint(seconds=0.0)]


@pytest.mark.parametrize(
    ("task", "code", "message"),
    [
        ({}, "InvalidParameterValue.MediaProcessTask",
         "MediaProcessTask has no tasks: list at least one item in one of TranscodeTaskSet, AnimatedGraphicTaskSet, "
         "SnapshotByTimeOffsetTaskSet, SampleSnapshotTaskSet, ImageSpriteTaskSet, CoverBySnapshotTaskSet, "
         "AdaptiveDynamicStreamingTaskSet"),
        ("x", "InvalidParameterValue.MediaProcessTask", "MediaProcessTask must be an object, got a string"),
        ({"WatermarkTaskSet": []}, "UnknownParameter",
         "MediaProcessTask has unknown or unsupported parameter 'WatermarkTaskSet'; supported: TranscodeTaskSet, "
         "AnimatedGraphicTaskSet, SnapshotByTimeOffsetTaskSet, SampleSnapshotTaskSet, ImageSpriteTaskSet, "
         "CoverBySnapshotTaskSet, AdaptiveDynamicStreamingTaskSet"),
        ({"TranscodeTaskSet": {"Definition": 10}}, "InvalidParameterValue.TranscodeTaskSet",
         "MediaProcessTask.TranscodeTaskSet must be a list, got an object"),
        ({"TranscodeTaskSet": [{}]}, "MissingParameter", "MediaProcessTask.TranscodeTaskSet[0].Definition is required"),
        ({"TranscodeTaskSet": [{"Definition": "100030"}]}, "InvalidParameterValue.Definition",
         "MediaProcessTask.TranscodeTaskSet[0].Definition must be a whole number from 1, got '100030'"),
        ({"TranscodeTaskSet": [{"Definition": 100030, "MosaicSet": [{"Definition": 1}]}]}, "UnknownParameter",
         "MediaProcessTask.TranscodeTaskSet[0] has unknown or unsupported parameter 'MosaicSet'; supported: "
         "Definition, StartTimeOffset, EndTimeOffset, WatermarkSet"),
        ({"TranscodeTaskSet": [{"Definition": 100030}, {"Definition": 100030}]}, "InvalidParameterValue.Definition",
         "MediaProcessTask.TranscodeTaskSet[1].Definition 100030 is already in TranscodeTaskSet: each Definition "
         "may appear once per set"),
        ({"TranscodeTaskSet": [{"Definition": 100030, "StartTimeOffset": 10, "EndTimeOffset": 5}]},
         "InvalidParameterValue.EndTimeOffset",
         "MediaProcessTask.TranscodeTaskSet[0].EndTimeOffset 5 must come after StartTimeOffset 10 (seconds; "
         "negative values count back from the end)"),
        ({"AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0}]}, "MissingParameter",
         "MediaProcessTask.AnimatedGraphicTaskSet[0].EndTimeOffset is required"),
        ({"SnapshotByTimeOffsetTaskSet": [{"Definition": 10}]}, "InvalidParameterValue.ExtTimeOffsetSet",
         "MediaProcessTask.SnapshotByTimeOffsetTaskSet[0] must list time points in ExtTimeOffsetSet (\"3.5s\", "
         "\"10%\") or, in milliseconds, in TimeOffsetSet; exactly one of them"),
        ({"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1000ms"]}]},
         "InvalidParameterValue.ExtTimeOffsetSet",
         "MediaProcessTask.SnapshotByTimeOffsetTaskSet[0].ExtTimeOffsetSet items must look like \"3.5s\" (seconds) "
         "or \"10%\" (of the duration, at most 100%), got '1000ms'"),
        ({"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"], "TimeOffsetSet": [1]}]},
         "InvalidParameterValue.ExtTimeOffsetSet",
         "MediaProcessTask.SnapshotByTimeOffsetTaskSet[0] must list time points in ExtTimeOffsetSet (\"3.5s\", "
         "\"10%\") or, in milliseconds, in TimeOffsetSet; exactly one of them"),
        ({"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "TimeOffsetSet": [-1]}]},
         "InvalidParameterValue.TimeOffsetSet",
         "MediaProcessTask.SnapshotByTimeOffsetTaskSet[0].TimeOffsetSet[0] must be from 0 to 86400000, got -1"),
        ({"CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Percent", "PositionValue": 101}]},
         "InvalidParameterValue.PositionValue",
         "MediaProcessTask.CoverBySnapshotTaskSet[0].PositionValue must be from 0 to 100, got 101"),
        ({"CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Frame", "PositionValue": 1}]},
         "InvalidParameterValue.PositionType",
         "MediaProcessTask.CoverBySnapshotTaskSet[0].PositionType must be one of Time, Percent, got 'Frame'"),
        ({"CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1}] * 2},
         "InvalidParameterValue.CoverBySnapshotTaskSet",
         "MediaProcessTask.CoverBySnapshotTaskSet may hold one item (a media file has one cover), got 2"),
        ({"AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 1}] * 51},
         "InvalidParameterValue.AnimatedGraphicTaskSet",
         f"MediaProcessTask.AnimatedGraphicTaskSet may list at most {MAX_STEPS} items, got 51"),
    ],
)
def test_bad_tasks_are_refused(task: Any, code: str, message: str) -> None:
    assert task_refused(task) == (code, message)


def test_too_many_steps_over_all_sets() -> None:
    task = {"AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 1}] * 30,
            "TranscodeTaskSet": [{"Definition": d} for d in range(1, 22)]}
    assert task_refused(task) == ("InvalidParameterValue.MediaProcessTask",
                                  f"MediaProcessTask may hold at most {MAX_STEPS} tasks, got 51")


def test_negative_offsets_count_from_the_end() -> None:
    steps = expand_steps({"AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": -5,
                                                      "EndTimeOffset": 0}]})
    assert steps[0].params == {"StartTimeOffset": -5, "EndTimeOffset": 0}
