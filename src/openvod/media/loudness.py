"""EBU R128 loudness normalisation with FFmpeg's ``loudnorm``, in two passes.

    target = LoudnessTarget(integrated=-23, true_peak=-1, lra=7)
    measured = measure_loudness(src, target, timeout=600, cancel=stop)   # pass 1: the audio only
    if not measured.silent:
        chain = apply_filter(target, measured, sample_rate=44100)        # pass 2: in the encode
        args = build_transcode_args(spec, [src], out, audio_filter=chain)
        # or AdaptiveStreamingSpec(..., loudness=chain) for a ladder

Pass 1 runs ``loudnorm`` with ``print_format=json`` over the input's first audio stream
(``-vn``, ``-f null -``) and parses the JSON it prints on stderr as it closes
(:func:`parse_loudnorm_json`). Pass 2 hands loudnorm the measured values with ``linear=true``:
when the measured true peak raised by the needed gain stays under the target's, and the
measured loudness range fits the target's, the whole file gets one gain (``Linear``: dynamics
untouched); otherwise loudnorm compresses as it goes (``Dynamic``), as :func:`normalization_type`
predicts. loudnorm works at 192 kHz, so the chain ends in ``aresample`` back to the output rate.

A steady signal (a tone, hum, noise) measures a loudness range of exactly 0, which loudnorm
takes for "not measured" and answers with dynamic mode; it is passed on as 0.01 LU, so such a
file gets the one gain it needs. Silence, or audio wholly under the -70 LUFS gate, measures
``-inf``: :attr:`LoudnessMeasurement.silent`, and there is nothing to bring to a target.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from openvod.errors import InvalidParameter, MediaError
from openvod.media.common import num
from openvod.media.ffmpeg import ProgressCallback, run_ffmpeg
from openvod.media.inputs import OUTPUT_FORMATS, PROTOCOL_WHITELIST, MediaInput, MediaLimits, input_args

__all__ = [
    "MEASURE_CODE",
    "LoudnessMeasurement",
    "LoudnessTarget",
    "NormalizationType",
    "apply_filter",
    "measure_args",
    "measure_loudness",
    "normalization_type",
    "parse_loudnorm_json",
]

MEASURE_CODE = "FailedOperation.LoudnessMeasure"
NormalizationType = Literal["Linear", "Dynamic", "None"]

_STDERR_LINES = 200  # loudnorm's JSON is 12 lines; warnings may follow it
_MIN_LRA = 0.01  # loudnorm reads a measured range of 0 as "not given" (see the module docstring)
_BLOCK = re.compile(r"\[Parsed_loudnorm_\d+ @ [^\]]*\]\s*(\{.*?\})", re.DOTALL)
_KEYS = ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")


@dataclass(frozen=True)
class LoudnessTarget:
    """Where to bring the audio: integrated loudness (LUFS, -70..-5), maximum true peak (dBTP,
    -9..0) and loudness range (LU, 1..20). The defaults are EBU R128's broadcast target."""

    integrated: float = -23.0
    true_peak: float = -1.0
    lra: float = 7.0

    def __post_init__(self) -> None:
        for value, lo, hi, code, unit in ((self.integrated, -70, -5, "IntegratedLoudness", "LUFS"),
                                          (self.true_peak, -9, 0, "TruePeak", "dBTP"),
                                          (self.lra, 1, 20, "LoudnessRange", "LU")):
            if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
                raise InvalidParameter(f"{code} must be {lo} to {hi} {unit}, got {value!r}",
                                       code=f"InvalidParameterValue.{code}")


@dataclass(frozen=True)
class LoudnessMeasurement:
    """What pass 1 measured: integrated loudness (LUFS), true peak (dBTP), loudness range (LU),
    the relative gate threshold (LUFS) and loudnorm's offset for the target. Silence gives
    ``-inf`` loudness and peak (and an infinite offset)."""

    integrated: float
    true_peak: float
    lra: float
    threshold: float
    target_offset: float

    @property
    def silent(self) -> bool:
        """No loudness to normalise: silence, or nothing above the -70 LUFS absolute gate."""
        return not math.isfinite(self.integrated) or self.integrated <= -70

    def report(self) -> dict[str, float | None]:
        """The measurement as JSON numbers (``None`` where it is infinite), Tencent-style names."""
        def finite(x: float) -> float | None:
            return round(x, 2) if math.isfinite(x) else None
        return {"IntegratedLoudness": finite(self.integrated), "TruePeak": finite(self.true_peak),
                "LoudnessRange": finite(self.lra)}


def _value(block: dict[str, object], key: str) -> float:
    raw = block.get(key)
    try:
        return float(str(raw).strip())  # "-34.80", "-inf", "inf"
    except ValueError as exc:
        raise MediaError(f"loudnorm reported {key}={raw!r}, not a number", code=MEASURE_CODE) from exc


def parse_loudnorm_json(stderr: str) -> LoudnessMeasurement:
    """The measurement in FFmpeg's stderr from a ``loudnorm=...:print_format=json`` run (its last
    report, if there are several). Raises :class:`~openvod.errors.MediaError`
    (``FailedOperation.LoudnessMeasure``) when there is none or it lacks a value."""
    blocks = _BLOCK.findall(stderr)
    if not blocks:
        raise MediaError("loudnorm printed no measurement: did the input have audio?", code=MEASURE_CODE)
    try:
        block = json.loads(blocks[-1])
    except json.JSONDecodeError as exc:
        raise MediaError(f"loudnorm's measurement is not JSON: {exc}", code=MEASURE_CODE) from exc
    if not isinstance(block, dict) or any(k not in block for k in _KEYS):
        raise MediaError(f"loudnorm's measurement lacks one of {', '.join(_KEYS)}", code=MEASURE_CODE)
    i, tp, lra, thresh, offset = (_value(block, k) for k in _KEYS)
    if math.isnan(i) or math.isnan(tp) or math.isnan(lra) or math.isnan(thresh):
        raise MediaError("loudnorm measured NaN", code=MEASURE_CODE)
    return LoudnessMeasurement(integrated=i, true_peak=tp, lra=lra, threshold=thresh, target_offset=offset)


def _measure_filter(target: LoudnessTarget) -> str:
    return f"loudnorm=I={num(target.integrated)}:TP={num(target.true_peak)}:LRA={num(target.lra)}:print_format=json"


def measure_args(source: MediaInput, target: LoudnessTarget, *, start: float | None = None,
                 end: float | None = None, own_output: bool = False) -> list[str]:
    """Pass 1's arguments: loudnorm over ``source``'s first audio stream, from ``start`` to
    ``end`` seconds when given (as the encode trims). ``own_output``: a file OpenVOD wrote (an
    HLS playlist and its segments beside it may be read), else one user file."""
    trim = [*(["-ss", num(start)] if start else []), *(["-to", num(end)] if end else [])]
    if own_output:
        if not isinstance(source, Path):
            raise InvalidParameter("an output to measure must be a local file", code="InvalidParameter.Input")
        opened = ["-format_whitelist", ",".join(OUTPUT_FORMATS), "-protocol_whitelist", PROTOCOL_WHITELIST,
                  "-i", str(source.absolute())]
    else:
        opened = input_args(source)
    return [*trim, *opened, "-map", "0:a:0", "-vn", "-sn", "-dn", "-af", _measure_filter(target), "-f", "null", "-"]


def measure_loudness(source: MediaInput, target: LoudnessTarget, *, timeout: float, ffmpeg: str | None = None,
                     on_progress: ProgressCallback | None = None, duration: float | None = None,
                     cancel: threading.Event | None = None, limits: MediaLimits | None = None,
                     start: float | None = None, end: float | None = None,
                     own_output: bool = False) -> LoudnessMeasurement:
    """Run pass 1 (see :func:`measure_args`) and return what it measured. Timeout, cancel and
    progress behave as in :func:`~openvod.media.ffmpeg.run_ffmpeg` (``duration``: seconds of
    audio to read). The input must have an audio stream."""
    stderr = run_ffmpeg(measure_args(source, target, start=start, end=end, own_output=own_output),
                        timeout=timeout, ffmpeg=ffmpeg, on_progress=on_progress, duration=duration, cancel=cancel,
                        limits=limits, stderr_lines=_STDERR_LINES)
    return parse_loudnorm_json(stderr)


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x)) if math.isfinite(x) else (hi if x > 0 else lo)


def normalization_type(target: LoudnessTarget, measured: LoudnessMeasurement) -> NormalizationType:
    """How pass 2 will treat the audio: ``Linear`` (one gain), ``Dynamic`` (loudnorm compresses:
    the gain would push the true peak over the target's, or the range is wider than the
    target's), ``None`` (silent: left as it is)."""
    if measured.silent:
        return "None"
    gain = target.integrated - measured.integrated
    lra = max(measured.lra, _MIN_LRA)
    linear = measured.true_peak + gain <= target.true_peak and lra <= target.lra and measured.threshold > -70
    return "Linear" if linear else "Dynamic"


def apply_filter(target: LoudnessTarget, measured: LoudnessMeasurement, sample_rate: int) -> str:
    """Pass 2's audio filter chain (for ``-af``): loudnorm with the measured values, then back
    from loudnorm's 192 kHz to ``sample_rate``. Raises ``InvalidParameter`` for a silent
    measurement (check :attr:`LoudnessMeasurement.silent` first)."""
    if measured.silent:
        raise InvalidParameter("silent audio has no loudness to normalise", code="InvalidParameter.Loudness")
    if not isinstance(sample_rate, int) or not 8000 <= sample_rate <= 192_000:
        raise InvalidParameter(f"sample rate must be 8000-192000 Hz, got {sample_rate!r}",
                               code="InvalidParameter.AudioSampleRate")
    # loudnorm's own option ranges; a value outside one makes FFmpeg refuse the whole graph.
    values = [
        ("I", target.integrated), ("TP", target.true_peak), ("LRA", target.lra),
        ("measured_I", _clamp(measured.integrated, -99, 0)),
        ("measured_TP", _clamp(measured.true_peak, -99, 99)),
        ("measured_LRA", _clamp(max(measured.lra, _MIN_LRA), 0, 99)),
        ("measured_thresh", _clamp(measured.threshold, -99, 0)),
        ("offset", _clamp(measured.target_offset, -99, 99)),
    ]
    opts = ":".join(f"{k}={num(round(v, 2))}" for k, v in values)
    return f"loudnorm={opts}:linear=true:print_format=none,aresample={sample_rate}"
