"""Preset params: the Kingsoft offline schema, validated field by field into a TranscodeSpec."""

from __future__ import annotations

from typing import Any

import pytest

from openvod.domain.presets import (
    AudioCodec,
    AudioSpec,
    Container,
    TranscodeSpec,
    VideoCodec,
    VideoSpec,
    normalize_params,
    parse_params,
    spec_to_params,
    validate_description,
    validate_preset_name,
    validate_preset_type,
)
from openvod.errors import InvalidParameter

SEED = {
    "f": "mp4",
    "AUDIO": {"acodec": "aac", "ar": "44100", "ab": "64k"},
    "VIDEO": {"vr": 25, "vb": "500k", "vcodec": "h264", "width": 640, "height": 360},
}


def refused(params: Any) -> str:
    with pytest.raises(InvalidParameter) as err:
        parse_params(params)
    assert err.value.code == "InvalidParameter.PresetParam"
    return err.value.message


# --- the seed and canonical form -------------------------------------------------------------------


def test_seed_example_parses_with_string_numbers() -> None:
    assert parse_params(SEED) == TranscodeSpec(
        container=Container.MP4,
        video=VideoSpec(codec=VideoCodec.H264, width=640, height=360, fps=25.0, bitrate=500_000),
        audio=AudioSpec(codec=AudioCodec.AAC, bitrate=64_000, sample_rate=44100),
    )


def test_canonical_params_spell_out_numbers_and_round_trip() -> None:
    canonical = normalize_params(SEED)
    assert canonical == {
        "f": "mp4",
        "AUDIO": {"acodec": "aac", "ab": "64k", "ar": 44100},
        "VIDEO": {"vcodec": "h264", "width": 640, "height": 360, "vr": 25, "vb": "500k"},
    }
    assert parse_params(canonical) == parse_params(SEED)
    assert normalize_params(canonical) == canonical


def test_json_text_is_accepted() -> None:
    assert parse_params('{"f": "mp3"}') == parse_params({"f": "mp3"})
    assert "not valid JSON" in refused("{f: mp3")


@pytest.mark.parametrize(
    "params",
    [
        {"f": "webm", "VIDEO": {"vcodec": "av1", "crf": 30, "preset": "fast", "rotate": 270, "vr": "29.97"},
         "AUDIO": {"acodec": "vorbis", "channels": 6, "ar": 48000, "ab": "192k"}},
        {"f": "mkv", "VIDEO": {"vn": 1}, "AUDIO": {"acodec": "opus", "ab": 96500}},
        {"f": "gif", "VIDEO": {"width": 161, "vr": 10}},
        {"f": "hls", "VIDEO": {"width": 640, "height": 360, "as": 1}, "AUDIO": {"an": 1}},
        {"f": "flv", "VIDEO": {"vcodec": "copy"}, "AUDIO": {"acodec": "copy"}},
        {"f": "m4a"},
    ],
)
def test_every_spec_round_trips_through_canonical_params(params: dict[str, Any]) -> None:
    spec = parse_params(params)
    assert parse_params(spec_to_params(spec)) == spec


# --- container ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "container", "vcodec", "acodec"),
    [
        ("mp4", Container.MP4, VideoCodec.H264, AudioCodec.AAC),
        ("MP4", Container.MP4, VideoCodec.H264, AudioCodec.AAC),
        ("flv", Container.FLV, VideoCodec.H264, AudioCodec.AAC),
        ("ts", Container.TS, VideoCodec.H264, AudioCodec.AAC),
        ("hls", Container.HLS, VideoCodec.H264, AudioCodec.AAC),
        ("M3U8", Container.HLS, VideoCodec.H264, AudioCodec.AAC),
        ("webm", Container.WEBM, VideoCodec.VP9, AudioCodec.OPUS),
        ("mkv", Container.MKV, VideoCodec.H264, AudioCodec.AAC),
        ("gif", Container.GIF, VideoCodec.GIF, None),
        ("mp3", Container.MP3, None, AudioCodec.MP3),
        ("m4a", Container.M4A, None, AudioCodec.AAC),
        ("aac", Container.AAC, None, AudioCodec.AAC),
    ],
)
def test_container_and_its_default_codecs(
    given: str, container: Container, vcodec: VideoCodec | None, acodec: AudioCodec | None
) -> None:
    spec = parse_params({"f": given})
    assert spec.container is container
    assert (spec.video.codec if spec.video else None) == vcodec
    assert (spec.audio.codec if spec.audio else None) == acodec


def test_container_extension() -> None:
    assert Container.HLS.extension == ".m3u8"
    assert Container.MKV.extension == ".mkv"


@pytest.mark.parametrize("f", [None, "", "avi", 3])
def test_bad_or_missing_container(f: Any) -> None:
    message = refused({"f": f} if f is not None else {})
    assert message.startswith("f ")
    assert "mp4" in message


def test_unknown_keys_refused_with_allowed_list() -> None:
    assert refused({"f": "mp4", "TRANSCODE": {}}) == (
        "param has unknown key(s) TRANSCODE; allowed: f, AUDIO, VIDEO"
    )
    assert "VIDEO has unknown setting(s) bitrate" in refused({"f": "mp4", "VIDEO": {"bitrate": "1M"}})
    assert "AUDIO has unknown setting(s) volume" in refused({"f": "mp4", "AUDIO": {"volume": 2}})
    assert refused({"f": "mp4", "VIDEO": [1]}) == "VIDEO must be an object of settings, got list"
    assert "must be an object" in refused(["f", "mp4"])


def test_null_settings_are_absent() -> None:
    assert parse_params({"f": "mp4", "VIDEO": {"width": None}, "AUDIO": None}) == parse_params({"f": "mp4"})


# --- video fields -----------------------------------------------------------------------------------


def video(**settings: Any) -> VideoSpec:
    spec = parse_params({"f": "mkv", "VIDEO": settings})
    assert spec.video is not None
    return spec.video


@pytest.mark.parametrize(
    ("given", "codec"),
    [("h264", VideoCodec.H264), ("H265", VideoCodec.H265), ("hevc", VideoCodec.H265), ("vp9", VideoCodec.VP9),
     ("av1", VideoCodec.AV1), ("copy", VideoCodec.COPY), ("libx264", VideoCodec.H264)],
)
def test_vcodec(given: str, codec: VideoCodec) -> None:
    assert video(vcodec=given).codec is codec


def test_bad_vcodec() -> None:
    assert refused({"f": "mp4", "VIDEO": {"vcodec": "divx"}}) == (
        "VIDEO.vcodec must be one of h264, h265, vp9, av1, copy, got 'divx'"
    )


@pytest.mark.parametrize(
    ("f", "vcodec", "message"),
    [
        ("flv", "vp9", "VIDEO.vcodec vp9 cannot go into f=flv; it takes h264, h265"),
        ("webm", "h265", "VIDEO.vcodec h265 cannot go into f=webm; it takes vp9, av1"),
        ("webm", "h264", "VIDEO.vcodec h264 cannot go into f=webm; it takes vp9, av1"),
        ("ts", "av1", "VIDEO.vcodec av1 cannot go into f=ts; it takes h264, h265"),
        ("gif", "h264", "f=gif encodes GIF frames; VIDEO.vcodec must be absent or gif, got 'h264'"),
    ],
)
def test_codec_container_mismatch(f: str, vcodec: str, message: str) -> None:
    assert refused({"f": f, "VIDEO": {"vcodec": vcodec}}) == message


def test_width_height_and_keep_aspect() -> None:
    assert (video(width="640", height=360).width, video(width="640", height=360).height) == (640, 360)
    assert video(width=640, height=0).height is None
    assert video(width=0, height=0) == video()
    assert video(width=640, height=360, **{"as": "1"}).keep_aspect is True
    assert video(width=640, height=360).keep_aspect is False
    assert parse_params({"f": "gif", "VIDEO": {"width": 161}}).video == VideoSpec(VideoCodec.GIF, width=161)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"width": 641}, "VIDEO.width must be even for h264 (4:2:0 chroma needs even sizes), got 641"),
        ({"height": "abc"}, "VIDEO.height must be a whole number of pixels, got 'abc'"),
        ({"width": 8194}, "VIDEO.width must be a whole number of pixels from 0 to 8192, got 8194"),
        ({"width": -2}, "VIDEO.width must be a whole number of pixels from 0 to 8192, got -2"),
        ({"width": 8}, "VIDEO.width must be 0 (keep the aspect ratio) or at least 16 pixels, got 8"),
        ({"width": 640.5}, "VIDEO.width must be a whole number of pixels, got 640.5"),
        ({"width": True}, "VIDEO.width must be a whole number of pixels, got True"),
        ({"as": 2}, "VIDEO.as must be 0 or 1, got 2"),
        ({"as": "yes"}, "VIDEO.as must be 0 or 1, got 'yes'"),
    ],
)
def test_bad_sizes(settings: dict[str, Any], message: str) -> None:
    assert refused({"f": "mp4", "VIDEO": settings}) == message


@pytest.mark.parametrize(("given", "fps"), [(25, 25.0), ("25", 25.0), ("29.97", 29.97), ("30000/1001", 29.97),
                                            (12.5, 12.5)])
def test_vr(given: Any, fps: float) -> None:
    assert video(vr=given).fps == fps


@pytest.mark.parametrize("given", ["fast", "25/0", 0, 121, "-5", [25]])
def test_bad_vr(given: Any) -> None:
    assert refused({"f": "mp4", "VIDEO": {"vr": given}}).startswith("VIDEO.vr must be a frame rate")


@pytest.mark.parametrize(("given", "bps"), [("500k", 500_000), ("500K", 500_000), ("1.5M", 1_500_000),
                                            ("800000", 800_000), (800000, 800_000), ("2mbps", 2_000_000)])
def test_vb(given: Any, bps: int) -> None:
    assert video(vb=given).bitrate == bps


def test_bad_vb_messages() -> None:
    assert refused({"f": "mp4", "VIDEO": {"vb": "fast"}}) == "VIDEO.vb must be a bitrate like 800k, got 'fast'"
    assert refused({"f": "mp4", "VIDEO": {"vb": 800}}) == (
        "VIDEO.vb must be from 16k to 200000k (plain numbers are bits per second), got 800"
    )


def test_crf_and_preset() -> None:
    assert video(crf="23").crf == 23
    assert video(crf=0).crf == 0
    assert video(preset="Slow").preset == "slow"
    assert video().preset is None
    assert refused({"f": "mp4", "VIDEO": {"crf": 52}}) == "VIDEO.crf must be a quality from 0 to 51, got 52"
    assert refused({"f": "mp4", "VIDEO": {"preset": "placebo"}}) == (
        "VIDEO.preset must be one of ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow, "
        "got 'placebo'"
    )
    assert refused({"f": "mp4", "VIDEO": {"crf": 23, "vb": "1M"}}) == (
        "VIDEO.vb and VIDEO.crf exclude each other: give a bitrate or a constant quality"
    )


@pytest.mark.parametrize(("given", "degrees"), [(0, 0), ("90", 90), (180, 180), (270, 270), (-90, 270)])
def test_rotate(given: Any, degrees: int) -> None:
    assert video(rotate=given).rotate == degrees


@pytest.mark.parametrize("given", [45, 360, "left"])
def test_bad_rotate(given: Any) -> None:
    assert refused({"f": "mp4", "VIDEO": {"rotate": given}}).startswith("VIDEO.rotate must be")


def test_vn_removes_video() -> None:
    spec = parse_params({"f": "mp4", "VIDEO": {"vn": "1"}})
    assert spec.video is None and spec.audio is not None
    assert spec_to_params(spec)["VIDEO"] == {"vn": 1}
    assert parse_params({"f": "mp4", "VIDEO": {"vn": 0}}).video == VideoSpec(VideoCodec.H264)
    assert refused({"f": "mp4", "VIDEO": {"vn": 1, "vb": "1M"}}) == (
        "VIDEO.vn=1 removes the stream, so VIDEO.vb cannot be set"
    )


@pytest.mark.parametrize("key", ["width", "height", "vr", "vb", "rotate", "crf", "preset", "as"])
def test_copy_refuses_settings_that_need_an_encode(key: str) -> None:
    value = {"width": 640, "height": 360, "vr": 25, "vb": "1M", "rotate": 90, "crf": 20, "preset": "fast",
             "as": 1}[key]
    assert refused({"f": "mp4", "VIDEO": {"vcodec": "copy", key: value}}) == (
        f"VIDEO.vcodec=copy keeps the stream as it is, so VIDEO.{key} cannot be set"
    )


@pytest.mark.parametrize("key", ["vb", "crf", "preset"])
def test_gif_has_no_bitrate_or_quality(key: str) -> None:
    value = {"vb": "1M", "crf": 20, "preset": "fast"}[key]
    assert refused({"f": "gif", "VIDEO": {key: value}}).startswith(f"VIDEO.{key} does not apply to f=gif")


# --- audio fields -----------------------------------------------------------------------------------


def audio(f: str = "mkv", **settings: Any) -> AudioSpec:
    spec = parse_params({"f": f, "AUDIO": settings})
    assert spec.audio is not None
    return spec.audio


def test_audio_fields_and_string_numbers() -> None:
    assert audio(acodec="MP3", ab="128k", ar="22050", channels="2") == AudioSpec(AudioCodec.MP3, 128_000, 22050, 2)
    assert audio(acodec="opus", ar=48000).sample_rate == 48000
    assert audio(acodec="vorbis").codec is AudioCodec.VORBIS
    assert audio(acodec="copy") == AudioSpec(AudioCodec.COPY)


@pytest.mark.parametrize(
    ("f", "settings", "message"),
    [
        ("mp4", {"acodec": "wma"}, "AUDIO.acodec must be one of aac, mp3, opus, vorbis, copy, got 'wma'"),
        ("mp4", {"acodec": "vorbis"}, "AUDIO.acodec vorbis cannot go into f=mp4; it takes aac, mp3, opus"),
        ("webm", {"acodec": "aac"}, "AUDIO.acodec aac cannot go into f=webm; it takes opus, vorbis"),
        ("mp3", {"acodec": "aac"}, "AUDIO.acodec aac cannot go into f=mp3; it takes mp3"),
        ("mp4", {"ab": "loud"}, "AUDIO.ab must be a bitrate like 800k, got 'loud'"),
        ("mp4", {"ab": "2M"}, "AUDIO.ab must be from 8k to 1000k (plain numbers are bits per second), got '2M'"),
        ("mp4", {"ar": "44.1k"}, "AUDIO.ar must be a sample rate in Hz, got '44.1k'"),
        ("mp4", {"ar": 44000}, "AUDIO.ar for aac must be one of 8000, 11025, 12000, 16000, 22050, 24000, 32000, "
                               "44100, 48000, 88200, 96000 Hz, got 44000"),
        ("mkv", {"acodec": "opus", "ar": "44100"},
         "AUDIO.ar for opus must be one of 8000, 12000, 16000, 24000, 48000 Hz, got '44100'"),
        ("mp3", {"ar": 96000}, "AUDIO.ar for mp3 must be one of 8000, 11025, 12000, 16000, 22050, 24000, 32000, "
                               "44100, 48000 Hz, got 96000"),
        ("mp4", {"channels": 0}, "AUDIO.channels must be a channel count from 1 to 8, got 0"),
        ("mp4", {"channels": "stereo"}, "AUDIO.channels must be a channel count, got 'stereo'"),
        ("mp3", {"channels": 6}, "AUDIO.channels for mp3 must be 1 or 2, got 6"),
        ("mp4", {"an": "maybe"}, "AUDIO.an must be 0 or 1, got 'maybe'"),
        ("mp4", {"acodec": "copy", "ab": "64k"},
         "AUDIO.acodec=copy keeps the stream as it is, so AUDIO.ab cannot be set"),
        ("mp4", {"an": 1, "ar": 44100}, "AUDIO.an=1 removes the stream, so AUDIO.ar cannot be set"),
    ],
)
def test_bad_audio(f: str, settings: dict[str, Any], message: str) -> None:
    assert refused({"f": f, "AUDIO": settings}) == message


def test_an_removes_audio() -> None:
    spec = parse_params({"f": "mp4", "AUDIO": {"an": 1}})
    assert spec.audio is None and spec.video is not None
    assert spec_to_params(spec)["AUDIO"] == {"an": 1}


# --- combinations -----------------------------------------------------------------------------------


def test_vn_and_an_together_refused() -> None:
    assert refused({"f": "mp4", "VIDEO": {"vn": 1}, "AUDIO": {"an": 1}}) == (
        "VIDEO.vn=1 and AUDIO.an=1 together would leave nothing to encode"
    )


@pytest.mark.parametrize("f", ["mp3", "m4a", "aac"])
def test_audio_only_containers(f: str) -> None:
    assert parse_params({"f": f}).video is None
    assert parse_params({"f": f, "VIDEO": {"vn": 1}}).video is None
    assert "VIDEO" not in normalize_params({"f": f, "VIDEO": {"vn": 1}})
    assert refused({"f": f, "VIDEO": {"width": 640}}) == (
        f"f={f} holds audio only: remove VIDEO or set VIDEO.vn=1"
    )
    assert refused({"f": f, "AUDIO": {"an": 1}}) == (
        f"f={f} holds audio only, so AUDIO.an=1 would leave nothing to encode"
    )


def test_gif_drops_audio_and_needs_video() -> None:
    spec = parse_params({"f": "gif", "AUDIO": {"acodec": "aac", "ab": "64k"}})
    assert spec.audio is None
    assert "AUDIO" not in spec_to_params(spec)
    assert refused({"f": "gif", "VIDEO": {"vn": 1}}) == (
        "f=gif is a picture format; VIDEO.vn=1 would leave nothing to encode"
    )


# --- names, types, descriptions ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "testpreset", "web_360p.v2-final", "x" * 128])
def test_good_names(name: str) -> None:
    assert validate_preset_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 129, "a b", "a/b", "名字", "a|b", None, 7])
def test_bad_names(name: Any) -> None:
    with pytest.raises(InvalidParameter) as err:
        validate_preset_name(name)
    assert err.value.code == "InvalidParameter.Preset"
    assert "1-128 characters of A-Z, a-z, 0-9, '_', '.', '-'" in err.value.message


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        validate_preset_name(name)
    assert err.value.code == "InvalidParameter.Preset" and "no URL path" in err.value.message


def test_preset_type() -> None:
    assert validate_preset_type(None) == "avop"
    assert validate_preset_type("") == "avop"
    assert validate_preset_type("AVOP") == "avop"
    with pytest.raises(InvalidParameter) as err:
        validate_preset_type("snapshot")
    assert err.value.code == "InvalidParameter.Preset"
    assert err.value.message == "preset type must be avop (audio/video transcoding), got 'snapshot'"


def test_description() -> None:
    assert validate_description(None) == ""
    assert validate_description("two\nlines") == "two\nlines"
    for bad in ("x" * 1025, "bell\x07", 5):
        with pytest.raises(InvalidParameter) as err:
            validate_description(bad)
        assert err.value.code == "InvalidParameter.Preset"
