"""Loudness normalisation inside the Transcode and AdaptiveDynamicStreaming steps.

A template's ``EnhanceConfig.AudioEnhance.VolumeBalance`` (``domain/templates/loudness.py``)
turns it on. The step then makes three FFmpeg runs instead of one::

    level = Leveler(job, volume_balance(tpl), has_audio=src.info.has_audio)
    chain = level.prepare(source, duration=d, sample_rate=44100)   # pass 1 over the audio only
    ... encode with audio_filter=chain (None: nothing to do), on_progress=level.encode_progress
    level.check(output_file, duration=d)                            # the output measured back
    out["Loudness"] = level.report()

Progress: the measure pass is the first :data:`MEASURE_SHARE` percent of the step, the encode
the bulk, the check of the output the last :data:`CHECK_SHARE`. Cancel and timeout apply to
every run (each gets the job's cancel event and timeout).

What happens to a source without audio, or with silent audio (below the -70 LUFS gate): the
step does not fail; its audio (if any) is encoded untouched and ``Loudness`` says why
(``NormalizationType`` ``None``, ``Message``). An encrypted ladder's output cannot be read
back, so its ``Result`` is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from openvod.engine.jobs import JobContext
from openvod.media.inputs import MediaInput
from openvod.media.loudness import (
    LoudnessMeasurement,
    LoudnessTarget,
    apply_filter,
    measure_loudness,
    normalization_type,
)

__all__ = ["CHECK_SHARE", "DEFAULT_SAMPLE_RATE", "MEASURE_SHARE", "Leveler"]

MEASURE_SHARE = 10.0
CHECK_SHARE = 5.0
DEFAULT_SAMPLE_RATE = 48000
"""The output rate when the template names none (loudnorm's own 192 kHz is no AAC rate)."""


class Leveler:
    """One step's loudness work; inert (``on`` is False) when ``volume_balance`` is ``None``."""

    def __init__(self, job: JobContext, volume_balance: dict[str, Any] | None, *, has_audio: bool) -> None:
        self.job = job
        self.settings = volume_balance
        self.target = None if volume_balance is None else LoudnessTarget(
            integrated=volume_balance["IntegratedLoudness"], true_peak=volume_balance["TruePeak"],
            lra=volume_balance["LoudnessRange"])
        self.has_audio = has_audio
        self.measured: LoudnessMeasurement | None = None
        self.result: LoudnessMeasurement | None = None
        self.message = ""

    @property
    def on(self) -> bool:
        """Whether the template asks for normalisation (whatever the source holds)."""
        return self.target is not None

    def _share(self, lo: float, hi: float) -> Callable[[float], None]:
        return lambda pct: self.job.progress(lo + (hi - lo) * pct / 100)

    @property
    def encode_progress(self) -> Callable[[float], None]:
        """The encode's progress callback: the job's own when loudness is off."""
        return self._share(MEASURE_SHARE, 100 - CHECK_SHARE) if self.on else self.job.progress

    def _kwargs(self) -> dict[str, Any]:
        return self.job.ffmpeg_options()

    def prepare(self, source: MediaInput, *, duration: float | None, sample_rate: int | None,
                start: float | None = None, end: float | None = None) -> str | None:
        """Measure ``source`` (from ``start`` to ``end`` s) and return the encode's audio filter
        chain, or ``None`` when there is nothing to normalise."""
        if self.target is None:
            return None
        if not self.has_audio:
            self.message = "the source has no audio stream: nothing to normalise"
            return None
        self.measured = measure_loudness(source, self.target, duration=duration, start=start, end=end,
                                         on_progress=self._share(0, MEASURE_SHARE), **self._kwargs())
        if self.measured.silent:
            self.message = "the source's audio is silent (nothing above -70 LUFS): left as it is"
            return None
        return apply_filter(self.target, self.measured, sample_rate or DEFAULT_SAMPLE_RATE)

    def check(self, output: Path | None, *, duration: float | None) -> None:
        """Measure the encoded audio in ``output`` (a file or HLS playlist OpenVOD wrote);
        ``None`` (e.g. encrypted) leaves the result out."""
        if self.target is None or self.measured is None or self.measured.silent:
            return
        if output is None:
            self.message = "the output is encrypted: its loudness is not measured back"
            return
        self.result = measure_loudness(output, self.target, duration=duration, own_output=True,
                                       on_progress=self._share(100 - CHECK_SHARE, 100), **self._kwargs())

    def report(self) -> dict[str, Any] | None:
        """The step Output's ``Loudness`` (``None`` when the template does not ask for it)."""
        if self.target is None or self.settings is None:
            return None
        out: dict[str, Any] = {
            "Switch": "ON", "Type": self.settings["Type"],
            "Target": {"IntegratedLoudness": self.target.integrated, "TruePeak": self.target.true_peak,
                       "LoudnessRange": self.target.lra},
            "NormalizationType": normalization_type(self.target, self.measured) if self.measured else "None",
        }
        if self.measured is not None:
            out["Source"] = self.measured.report()
        if self.result is not None:
            out["Result"] = self.result.report()
        if self.message:
            out["Message"] = self.message
        return out
