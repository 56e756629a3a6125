"""What a transcode does to the picture besides scaling: deinterlace, and tone-map HDR to SDR.

Pure functions of the probed stream and of the filters the ffmpeg at hand has, so the choice is
tested without running anything. The H.264 a transcode makes is 8-bit and played as SDR BT.709
everywhere; an HDR10 or HLG picture whose PQ/HLG values were only cut to 8 bits looks grey and
washed out, and an interlaced one shows combs on every movement.
"""

from __future__ import annotations

import subprocess

from server.library.probe import Stream

PQ = "smpte2084"  # HDR10, and the base layer of Dolby Vision profiles 7 and 8.1
HLG = "arib-std-b67"  # broadcast HDR, phones' HDR video, Dolby Vision profile 8.4
# Brightness in nits of the SDR white the tone mapper aims at. HDR masters put diffuse white (paper,
# a face in daylight) about here; highlights above it are compressed by the tone curve.
NOMINAL_PEAK = 100
# mobius keeps what lies within SDR's range almost as it is and compresses only the highlights above
# it. Measured on a picture mastered in SDR and the same picture in HDR10 (white at 100 nits), as
# mean luma / mean saturation against the SDR one: mobius 93% / 75%, reinhard 87% / 69%, hable
# 71% / 54% (darker and greyer everywhere); cutting the bits without tone mapping: 80% / 20%.
TONEMAP_CURVE = "mobius"
# The tags of the tone-mapped H.264: a player that reads no tags assumes the same.
SDR_TAGS = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]


def dynamic_range(stream: Stream) -> str | None:
    """PQ or HLG for an HDR picture (Dolby Vision included, through its HDR10/HLG base layer), else None.

    Dolby Vision profile 5 has no such base layer (its colours are IPT, readable only with its
    metadata): it is tone-mapped as PQ, which gives wrong colours; no filter in ffmpeg's CPU builds
    reads the metadata.
    """
    if stream.color_transfer in (PQ, HLG):
        return stream.color_transfer
    if stream.dolby_vision is not None:
        return PQ
    return None


def interlaced(stream: Stream) -> bool:
    """Whether the stream holds fields rather than frames (ffmpeg names the field order it found)."""
    return stream.field_order not in (None, "progressive")


def ffmpeg_filters(binary: str) -> frozenset[str]:
    """The names of the video filters this ffmpeg build has (an empty set when it cannot be asked)."""
    try:
        result = subprocess.run(
            [binary, "-hide_banner", "-nostdin", "-filters"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    names = set()
    for line in result.stdout.decode("utf-8", errors="replace").splitlines():
        parts = line.split()
        # " TS bwdif  V->V  Deinterlace..." (ffmpeg 9) or " TS. bwdif ..." (ffmpeg 5.1)
        if len(parts) >= 3 and "->" in parts[2]:
            names.add(parts[1])
    return frozenset(names)


def deinterlace_filter(available: frozenset[str]) -> str | None:
    """bwdif (motion-adaptive, sharper on still parts), else yadif; one frame out per frame in, so
    the timestamps and the forced keyframes stay those of the source frames."""
    if "bwdif" in available:
        return "bwdif=mode=send_frame:parity=auto:deint=all"
    if "yadif" in available:
        return "yadif=mode=send_frame:parity=auto:deint=all"
    return None


def tonemap_filter(transfer: str, available: frozenset[str]) -> str | None:
    """HDR (PQ or HLG, BT.2020) to SDR BT.709, 8-bit 4:2:0; None when this ffmpeg has no way.

    zscale linearises, tonemap compresses the brightness into SDR's range in linear light, zscale
    converts the primaries and applies BT.709's curve. Without zscale, the colorspace filter at least
    converts the primaries and matrix (BT.2020's gamma standing in for PQ/HLG): the colours are
    placed right but the brightness is not tone-mapped (still dim and grey).
    """
    if {"zscale", "tonemap"} <= available:
        return ",".join(
            [
                f"zscale=tin={transfer}:pin=bt2020:min=bt2020nc:t=linear:npl={NOMINAL_PEAK}",
                "format=gbrpf32le",
                "zscale=p=bt709",
                f"tonemap=tonemap={TONEMAP_CURVE}:desat=0",
                "zscale=t=bt709:m=bt709:r=tv",
                "format=yuv420p",
            ]
        )
    if "colorspace" in available:
        return (
            "format=yuv420p10le,colorspace=all=bt709:iall=bt2020:itrc=bt2020-10:irange=tv:range=tv"
            ":format=yuv420p:fast=0"
        )
    return None


def picture_filters(stream: Stream, available: frozenset[str]) -> tuple[list[str], list[str]]:
    """(filters before scaling, filters after it) for this picture, and nothing for a plain SDR one.

    Deinterlacing comes before scaling (scaling mixes the two fields' lines); tone mapping after it,
    on the smaller picture (in 32-bit float per channel, it costs by the pixel).
    """
    before, after = [], []
    if interlaced(stream):
        deinterlace = deinterlace_filter(available)
        if deinterlace:
            before.append(deinterlace)
    transfer = dynamic_range(stream)
    if transfer is not None:
        tonemap = tonemap_filter(transfer, available)
        if tonemap:
            after.append(tonemap)
    return before, after


def output_tags(stream: Stream, available: frozenset[str]) -> list[str]:
    """Arguments tagging the H.264 as BT.709 SDR when its picture was converted to that."""
    transfer = dynamic_range(stream)
    return SDR_TAGS if transfer is not None and tonemap_filter(transfer, available) else []
