"""Per-title ladders: every rung's bitrate picked for this source by VMAF, before the ladder runs.

    def run(plan):  # the caller's run_ffmpeg, with its timeout, cancel and progress
        run_ffmpeg(plan.args, timeout=600, duration=plan.duration)
    result = analyse(PerTitleSpec(top_vmaf=95), DEFAULT_RUNGS, src, SourceInfo.from_probe(probe(src)), work, run)
    AdaptiveStreamingSpec(rungs=result.rungs)      # the bitrates picked, rungs adding nothing dropped
    result.report(seconds)                        # {"Rungs": [{"Height", "Bitrate", "Vmaf", ...}], ...}

How: a few short scenes are sampled across the source (:func:`sample_windows`: ``samples`` (3)
windows of ``sample_seconds`` (1 s), evenly spread, but no more than ``sample_share`` (8%) of a
source: a 20 s one gets 2 x 0.8 s, one under 4.5 s a single window of up to 3 s) and cut out with
input seeks (to the keyframe before each window, not decoding the source from there), so a long
source costs no more than a short one.
One FFmpeg run scales them to every rung's size (as :func:`~openvod.media.ladder.build_ladder`
does) and encodes each at a few bitrates (``probe_fractions`` of the rung's cap: 100% and 20%)
with the ladder's own rate control: x264 ``preset``, one-pass ABR, maxrate 1.1x and a buffer of
2x the bitrate. (Not CRF: measured on a still slide,
CRF probes predicted VMAF 95 at 87 kbps for 1080p where the ladder's encode scored 72, because
the ladder's small VBV buffer starves its keyframes at low bitrates and CRF has no buffer.) The
bitrates asked and the scores make a (bitrate, VMAF) curve per rung. A second run scores every
probe with libvmaf against the samples scaled to the rung ("own" VMAF, what the rung's target is
checked against) and, upscaled, against the samples at the size of the rung above ("cross" VMAF:
what this rung shows where the one above would be shown). libvmaf scores every
``vmaf_subsample``-th frame (5). Every x264 and libvmaf instance gets ``threads`` (1): a run
holds many of them, which fill the cores without each one's thread overhead.

Picking (:func:`choose`, pure): the rung's target is ``top_vmaf - index * vmaf_step`` (index 0 is
the top rung); its bitrate is the lowest that reaches it on the curve (linear in log bitrate
between points, extrapolated up from the last segment, never below the lowest probe), clamped to
``min_bitrate``..``max_bitrate`` (``None`` caps each rung at its own template bitrate: per-title
spends fewer bits than the fixed ladder where they buy nothing, never more) and to the bitrate of
the rung above (a smaller picture never gets more bits than a larger one). Then, from the bottom
up, a rung whose own VMAF beats the next lower rung's cross VMAF by less than ``min_gain`` (2) is
dropped: at the same screen size it would look no better. (Both are interpolated at the bitrates
picked; a rung is compared with the planned rung right below it, dropped or not, since that is
the pair the second run scored.)

The probes see only the samples, and encode them with a keyframe each (the ladder has one every
segment), so a rung's final VMAF differs from the prediction by a point or two: tests state a
tolerance on the target.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from openvod.domain.presets import X264_PRESETS
from openvod.errors import InvalidParameter
from openvod.media.common import Plan, known_duration, num
from openvod.media.inputs import MediaInput, input_args
from openvod.media.ladder import AdaptiveStreamingSpec, Rung, plan_rungs
from openvod.media.transcode import SourceInfo
from openvod.media.vmaf import FRAME_INDEX_PTS, filter_path, read_vmaf, vmaf_filter

__all__ = [
    "Curve",
    "Probes",
    "PerTitleResult",
    "PerTitleSpec",
    "RungChoice",
    "analyse",
    "bitrate_for",
    "build_probe_encodes",
    "build_probe_scores",
    "choose",
    "probe_bitrates",
    "read_curves",
    "sample_windows",
    "vmaf_at",
]

_CODE = "InvalidParameter.PerTitle"
MIN_RUNG_BITRATE = 32_000  # what a Rung takes

Point = tuple[float, float]  # (bitrate in bit/s, VMAF)


@dataclass(frozen=True)
class PerTitleSpec:
    """What the analysis aims at and how much it may cost. Bitrates in bit/s."""

    top_vmaf: float = 95.0
    vmaf_step: float = 0.0
    min_bitrate: int = 64_000
    max_bitrate: int | None = None
    min_gain: float = 2.0
    samples: int = 3
    sample_seconds: float = 1.0
    sample_share: float = 0.08
    probe_fractions: tuple[float, ...] = (1.0, 0.2)
    preset: str = "veryfast"
    vmaf_subsample: int = 5
    threads: int = 1

    def __post_init__(self) -> None:
        if not (math.isfinite(self.top_vmaf) and 1 <= self.top_vmaf <= 100):
            raise InvalidParameter(f"top VMAF must be 1-100, got {self.top_vmaf!r}", code=_CODE)
        if not (math.isfinite(self.vmaf_step) and 0 <= self.vmaf_step <= 20):
            raise InvalidParameter(f"VMAF step must be 0-20, got {self.vmaf_step!r}", code=_CODE)
        top = self.max_bitrate if self.max_bitrate is not None else 100_000_000
        if not MIN_RUNG_BITRATE <= self.min_bitrate <= top <= 100_000_000:
            raise InvalidParameter(f"per-title bitrates must satisfy 32000 <= min <= max <= 100000000 bit/s, got "
                                   f"{self.min_bitrate!r}..{self.max_bitrate!r}", code=_CODE)
        if not 1 <= self.samples <= 10 or not (math.isfinite(self.sample_seconds) and 0.2 <= self.sample_seconds <= 10):
            raise InvalidParameter(f"per-title sampling must be 1-10 scenes of 0.2-10 s, got {self.samples!r} x "
                                   f"{self.sample_seconds!r}", code=_CODE)
        if not (math.isfinite(self.sample_share) and 0 < self.sample_share <= 1):
            raise InvalidParameter(f"sample share must be in (0, 1], got {self.sample_share!r}", code=_CODE)
        if not 1 <= len(self.probe_fractions) <= 6 or any(not 0 < f <= 1 for f in self.probe_fractions):
            raise InvalidParameter(f"probe fractions must be 1-6 values in (0, 1], got {self.probe_fractions!r}",
                                   code=_CODE)
        if self.preset not in X264_PRESETS:
            raise InvalidParameter(f"preset must be one of {', '.join(X264_PRESETS)}, got {self.preset!r}",
                                   code="InvalidParameter.Preset")
        if self.vmaf_subsample < 1 or self.threads < 1 or self.min_gain < 0:
            raise InvalidParameter("VMAF subsample and threads must be >= 1, min gain >= 0", code=_CODE)

    def target(self, index: int) -> float:
        """The VMAF rung ``index`` (0 = the top rung) aims at."""
        return max(0.0, self.top_vmaf - index * self.vmaf_step)


@dataclass(frozen=True)
class Curve:
    """A rung's probe results: ``own`` (bitrate, VMAF at the rung's size) per CRF, and ``cross``
    (the same bitrates, VMAF upscaled to the size of the rung above; empty for the top rung)."""

    own: tuple[Point, ...]
    cross: tuple[Point, ...] = ()


@dataclass(frozen=True)
class RungChoice:
    """What the analysis decided for one planned rung."""

    rung: Rung
    width: int
    height: int
    target: float
    bitrate: int
    vmaf: float
    kept: bool = True
    gain: float | None = None  # own VMAF minus the lower rung's cross VMAF (None for the lowest)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Width": self.width, "Height": self.height, "Bitrate": self.bitrate // 1000,
                               "Vmaf": round(self.vmaf, 2), "TargetVmaf": round(self.target, 2)}
        if self.gain is not None:
            out["VmafGain"] = round(self.gain, 2)
        return out


@dataclass(frozen=True)
class PerTitleResult:
    """``rungs``: the template's rungs with the bitrates picked, dropped ones left out, in the
    template's order. ``choices``: every planned rung, largest first, kept or not."""

    rungs: tuple[Rung, ...]
    choices: tuple[RungChoice, ...]

    def report(self, seconds: float) -> dict[str, Any]:
        """The step output's ``PerTitle``: bitrates in kbps like Tencent's ``Bitrate`` fields."""
        return {"Rungs": [c.as_dict() for c in self.choices if c.kept],
                "DroppedRungs": [c.as_dict() for c in self.choices if not c.kept],
                "AnalysisSeconds": round(seconds, 2)}


def _monotone(points: Sequence[Point]) -> list[tuple[float, float]]:
    """(log bitrate, VMAF) sorted by bitrate, VMAF made non-decreasing (more bits never score lower:
    a dip is measurement noise)."""
    out: list[tuple[float, float]] = []
    for b, v in sorted((b, v) for b, v in points if b > 0):
        if out and math.log(b) - out[-1][0] < 0.01:  # the same bitrate (an encoder that undershot twice)
            out[-1] = (out[-1][0], max(v, out[-1][1]))
        else:
            out.append((math.log(b), max(v, out[-1][1]) if out else v))
    return out


def vmaf_at(points: Sequence[Point], bitrate: float) -> float:
    """VMAF at ``bitrate`` on the curve through ``points``: linear in log bitrate, extrapolated
    down the first segment below the lowest probe, and flat above the highest (more bits than any
    probe had are not assumed to buy more), clamped to 0-100."""
    pts = _monotone(points)
    if not pts:
        raise InvalidParameter("a VMAF curve needs at least one point with a positive bitrate", code=_CODE)
    x = math.log(bitrate)
    if len(pts) == 1 or x >= pts[-1][0]:
        return pts[-1][1] if len(pts) > 1 or x >= pts[0][0] else pts[0][1]
    i = 0 if x <= pts[0][0] else next(
        j for j in range(len(pts) - 1) if pts[j][0] <= x <= pts[j + 1][0])
    (x0, v0), (x1, v1) = pts[i], pts[i + 1]
    v = v0 if x1 == x0 else v0 + (v1 - v0) * (x - x0) / (x1 - x0)
    return max(0.0, min(100.0, v))


def bitrate_for(points: Sequence[Point], target: float) -> float | None:
    """The lowest bitrate whose VMAF reaches ``target`` on the curve through ``points`` (see
    :func:`vmaf_at`; never below the lowest probe), or ``None`` when the curve never gets there
    (flat at the top)."""
    pts = _monotone(points)
    if not pts:
        raise InvalidParameter("a VMAF curve needs at least one point with a positive bitrate", code=_CODE)
    if len(pts) == 1:
        return math.exp(pts[0][0]) if pts[0][1] >= target else None
    segments = list(zip(pts, pts[1:], strict=False))
    if target <= pts[0][1]:
        # Not extrapolated below the lowest probe: at a few times less, the ladder's VBV buffer
        # starves keyframes and quality falls off a cliff no probe above it can see.
        return math.exp(pts[0][0])
    if target > pts[-1][1]:
        seg = segments[-1]  # above the highest probe: extrapolate up the last segment
    else:
        seg = next(s for s in segments if s[0][1] < target <= s[1][1])
    (x0, v0), (x1, v1) = seg
    if v1 <= v0:
        if target <= v0:
            return math.exp(x0)
        return None
    return math.exp(x0 + (target - v0) * (x1 - x0) / (v1 - v0))


def choose(spec: PerTitleSpec, planned: Sequence[tuple[int, int, Rung]], curves: Sequence[Curve]) -> PerTitleResult:
    """The bitrates to encode and the rungs to keep, from each planned rung's curve (see the
    module docstring). ``planned`` is :func:`~openvod.media.ladder.plan_rungs`'s list, largest
    first; ``curves`` matches it."""
    if len(planned) != len(curves):
        raise InvalidParameter(f"{len(planned)} rungs but {len(curves)} curves", code=_CODE)
    picked: list[RungChoice] = []
    for i, ((w, h, rung), curve) in enumerate(zip(planned, curves, strict=True)):
        hi = spec.max_bitrate if spec.max_bitrate is not None else rung.video_bitrate
        lo = min(spec.min_bitrate, hi)
        found = bitrate_for(curve.own, spec.target(i))
        bitrate = int(round(max(lo, min(hi, found if found is not None else hi)) / 1000)) * 1000
        bitrate = max(MIN_RUNG_BITRATE, bitrate)
        if picked and bitrate > picked[-1].bitrate:
            # A smaller picture never gets more bits than the one above: at that bitrate the larger
            # one looks better, and players pick rungs by bandwidth.
            bitrate = picked[-1].bitrate
        picked.append(RungChoice(rung=rung, width=w, height=h, target=spec.target(i), bitrate=bitrate,
                                 vmaf=vmaf_at(curve.own, bitrate)))
    for i in range(len(picked) - 2, -1, -1):
        below, cross = picked[i + 1], curves[i + 1].cross
        if not cross:
            continue
        gain = picked[i].vmaf - vmaf_at(cross, below.bitrate)
        picked[i] = replace(picked[i], gain=gain, kept=gain >= spec.min_gain)
    kept = {id(c.rung): c.bitrate for c in picked if c.kept}
    # Rungs are matched by identity: two equal rungs of a template are still two rungs.
    rungs = tuple(replace(r, video_bitrate=kept[id(r)]) for r in (c.rung for c in picked) if id(r) in kept)
    return PerTitleResult(rungs=rungs, choices=tuple(picked))


MIN_SAMPLED_SECONDS = 1.0
"""What a sampling budget never goes below (25 frames at 25 fps: shorter, keyframes dominate)."""


def sample_windows(duration: float, count: int, seconds: float, share: float = 1.0) -> list[tuple[float, float]]:
    """``count`` windows ``(start, length)`` of ``seconds`` each, centred in equal parts of the
    source; a source shorter than ``count * seconds * 1.5`` gets one window from its start.
    Otherwise ``share`` caps the total sampled at that share of ``duration`` (never below
    :data:`MIN_SAMPLED_SECONDS`): fewer windows, then shorter ones (down to half a second)."""
    if duration <= count * seconds * 1.5:
        # Too short to sample: one window, and not cut down by ``share``: a second's sample with
        # its keyframe scores low bitrates well below what the ladder's encode of it shows.
        return [(0.0, min(duration, count * seconds))]
    budget = max(MIN_SAMPLED_SECONDS, duration * share)
    if count * seconds > budget:
        count = max(1, min(count, math.ceil(budget / seconds)))
        seconds = min(seconds, max(0.5, budget / count))
    part = duration / count
    return [(max(0.0, part * (k + 0.5) - seconds / 2), seconds) for k in range(count)]


def _samples(spec: PerTitleSpec, input_path: MediaInput, source: SourceInfo,
             pts: str = FRAME_INDEX_PTS) -> tuple[list[str], str, list[float]]:
    """Input arguments opening every sample window, the graph head joining them (label
    ``[smp]``, timestamps renumbered by ``pts``), and the windows' lengths."""
    windows = sample_windows(known_duration(source, "PerTitle", input_path), spec.samples, spec.sample_seconds,
                             spec.sample_share)
    args: list[str] = []
    for start, length in windows:
        # Not an accurate seek: a window starts at the keyframe before ``start``, so the source is
        # not decoded from there only to be thrown away (half the analysis on long-GOP sources).
        # Both runs seek the same way, so their frames still line up.
        args += ["-noaccurate_seek", "-ss", num(start), "-t", num(length), *input_args(input_path)]
    pads = "".join(f"[{k}:V:0]" for k in range(len(windows)))
    head = f"{pads}concat=n={len(windows)}:v=1:a=0,{pts}[smp]"
    return args, head, [length for _, length in windows]


def _scale(w: int, h: int) -> str:
    return f"scale={w}:{h}:flags=bicubic,setsar=1,format=yuv420p"


def probe_bitrates(spec: PerTitleSpec, rung: Rung) -> list[int]:
    """The bitrates (bit/s) a rung is probed at: ``probe_fractions`` of its cap, not below the floor."""
    cap = spec.max_bitrate if spec.max_bitrate is not None else rung.video_bitrate
    return [max(spec.min_bitrate, MIN_RUNG_BITRATE, min(cap, int(cap * f))) for f in spec.probe_fractions]


@dataclass(frozen=True)
class Probes:
    """The probe encodes: ``files[(rung index, probe index)]`` at ``bitrates[rung index][probe
    index]`` (asked: the ladder's rate control, buffer included, follows what is asked, and an
    encode of still pictures delivers less), over ``seconds`` of samples."""

    files: dict[tuple[int, int], Path]
    bitrates: dict[int, list[int]]
    seconds: float


def build_probe_encodes(spec: PerTitleSpec, planned: Sequence[tuple[int, int, Rung]], input_path: MediaInput,
                        source: SourceInfo, work: Path) -> Plan[Probes]:
    """One FFmpeg run encoding the samples at every rung's size and every probe bitrate, with the
    ladder's rate control (x264 ``preset``, one-pass ABR, maxrate 1.1x, a 2x buffer) and a
    keyframe at every sample's start (raw H.264 files in ``work``: a file's size is its video bits)."""
    fps = source.fps or 25.0
    args, head, lengths = _samples(spec, input_path, source, f"setpts=N/({num(fps)}*TB)")
    starts = [sum(lengths[:k]) for k in range(len(lengths))]
    keys = ",".join(num(t) for t in starts)
    graph = [f"{head};[smp]split={len(planned)}{''.join(f'[s{i}]' for i in range(len(planned)))}"]
    outs: list[str] = []
    files: dict[tuple[int, int], Path] = {}
    bitrates: dict[int, list[int]] = {}
    n = len(spec.probe_fractions)
    gop = str(max(1, round(fps * sum(lengths))))  # no keyframes but the forced ones, as the ladder's fixed GOP
    for i, (w, h, rung) in enumerate(planned):
        graph.append(f"[s{i}]{_scale(w, h)},split={n}{''.join(f'[e{i}_{j}]' for j in range(n))}")
        bitrates[i] = probe_bitrates(spec, rung)
        for j, b in enumerate(bitrates[i]):
            files[(i, j)] = path = work / f"probe_{i}_{j}.h264"
            outs += ["-map", f"[e{i}_{j}]", "-c:v", "libx264", "-preset", spec.preset, "-pix_fmt", "yuv420p",
                     "-b:v", str(b), "-maxrate", str(b * 11 // 10), "-bufsize", str(b * 2), "-g", gop,
                     "-keyint_min", gop, "-sc_threshold", "0", "-threads", str(spec.threads),
                     "-force_key_frames", keys, "-f", "h264", str(path.absolute())]
    return Plan(args=[*args, "-filter_complex", ";".join(graph), *outs], outputs=Probes(files, bitrates, sum(lengths)),
                duration=sum(lengths))


def _log_path(work: Path, kind: str, rung: int, probe: int) -> Path:
    return work / f"vmaf_{kind}_{rung}_{probe}.json"


def build_probe_scores(spec: PerTitleSpec, planned: Sequence[tuple[int, int, Rung]], input_path: MediaInput,
                       source: SourceInfo, probes: Probes, work: Path) -> Plan[None]:
    """One FFmpeg run scoring every probe: against the samples at its rung's size, and (below the
    top rung) upscaled against them at the size of the rung above. Logs go to ``work``."""
    filter_path(work)
    args, head, lengths = _samples(spec, input_path, source)
    n, r = len(spec.probe_fractions), len(planned)
    uses = [n + (n if i + 1 < r else 0) for i in range(r)]  # own scores, plus the cross scores of the rung below
    graph = [f"{head};[smp]split={r}{''.join(f'[s{i}]' for i in range(r))}"]
    for i, (w, h, _) in enumerate(planned):
        graph.append(f"[s{i}]{_scale(w, h)},split={uses[i]}{''.join(f'[r{i}_{k}]' for k in range(uses[i]))}")
    inputs = args.count("-i")
    ref_next = [0] * r
    for i in range(r):
        for j in range(n):
            args += ["-f", "h264", "-i", str(probes.files[(i, j)].absolute())]
            chain = f"[{inputs}:v:0]{FRAME_INDEX_PTS},format=yuv420p"
            inputs += 1
            if i == 0:
                graph.append(f"{chain}[d{i}_{j}]")
            else:
                uw, uh, _ = planned[i - 1]
                graph.append(f"{chain},split=2[d{i}_{j}][u{i}_{j}]")
                graph.append(f"[u{i}_{j}]{_scale(uw, uh)}[x{i}_{j}]")
                graph.append(vmaf_filter(f"[x{i}_{j}]", f"[r{i - 1}_{ref_next[i - 1]}]",
                                         _log_path(work, "cross", i, j), threads=spec.threads,
                                         subsample=spec.vmaf_subsample))
                ref_next[i - 1] += 1
            graph.append(vmaf_filter(f"[d{i}_{j}]", f"[r{i}_{ref_next[i]}]", _log_path(work, "own", i, j),
                                     threads=spec.threads, subsample=spec.vmaf_subsample))
            ref_next[i] += 1
    return Plan(args=[*args, "-filter_complex", ";".join(graph), "-f", "null", "-"], outputs=None,
                duration=sum(lengths))


def read_curves(spec: PerTitleSpec, rungs: int, probes: Probes, work: Path) -> list[Curve]:
    """Each rung's curve from the probe files' sizes and the scores' logs."""
    curves = []
    for i in range(rungs):
        points = range(len(spec.probe_fractions))
        bitrates = probes.bitrates[i]
        own = tuple((bitrates[j], read_vmaf(_log_path(work, "own", i, j))) for j in points)
        cross = tuple((bitrates[j], read_vmaf(_log_path(work, "cross", i, j))) for j in points) if i else ()
        curves.append(Curve(own=own, cross=cross))
    return curves


def analyse(spec: PerTitleSpec, rungs: Sequence[Rung], input_path: MediaInput, source: SourceInfo, work: Path,
            run: Callable[[Plan[Any]], None], *, skip_higher: bool = True) -> PerTitleResult:
    """Probe, score and choose (see the module docstring). ``run`` runs one plan (twice: the probe
    encodes, then the scores), ``work`` is an existing scratch directory. A source without video
    keeps its rungs as they are."""
    planned = plan_rungs(AdaptiveStreamingSpec(rungs=tuple(rungs), skip_higher=skip_higher), source)
    if not planned:
        return PerTitleResult(rungs=tuple(rungs), choices=())
    encodes = build_probe_encodes(spec, planned, input_path, source, work)
    run(encodes)
    run(build_probe_scores(spec, planned, input_path, source, encodes.outputs, work))
    # Rungs above the source were never planned (skip_higher): they stay out, as the ladder skips them.
    return choose(spec, planned, read_curves(spec, len(planned), encodes.outputs, work))
