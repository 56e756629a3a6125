"""The probe reads colours and field order; a transcode deinterlaces and tone-maps from them."""
# ruff: noqa: E501 - lines of ffmpeg output, as ffmpeg prints them

from __future__ import annotations

from server.library.probe import Stream, parse_ffmpeg_output
from server.transcode.picture import (
    deinterlace_filter,
    dynamic_range,
    interlaced,
    output_tags,
    picture_filters,
    tonemap_filter,
)
from server.transcode.segments import Rendition, ffmpeg_command

# As ffmpeg 9 prints them (ffmpeg 5.1 prints the same attributes).
HDR10 = """Input #0, matroska,webm, from 'hdr.mkv':
  Duration: 00:00:02.00, start: 0.000000, bitrate: 100 kb/s
  Stream #0:0: Video: hevc (Main 10), yuv420p10le(tv, bt2020nc/bt2020/smpte2084, progressive), 320x180 [SAR 1:1 DAR 16:9], 24 fps, 24 tbr, 1k tbn
"""
DOLBY_VISION = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'IMG_0420.MOV':
  Duration: 00:00:12.34, start: 0.000000, bitrate: 9874 kb/s
  Stream #0:0[0x1](und): Video: hevc (Main 10) (hvc1 / 0x31637668), yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67), 1920x1080, 9800 kb/s, 29.98 fps, 30 tbr, 600 tbn (default)
    Side data:
      DOVI configuration record: version: 1.0, profile: 8, level: 4, rpu flag: 1, el flag: 0, bl flag: 1, compatibility id: 4
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 160 kb/s (default)
"""
INTERLACED = """Input #0, mpegts, from 'tv.ts':
  Duration: 00:00:02.00, start: 1.440000, bitrate: 2000 kb/s
  Stream #0:0[0x100]: Video: mpeg2video (Main) ([2][0][0][0] / 0x0002), yuv420p(tv, top first), 720x576 [SAR 16:15 DAR 4:3], 25 fps, 25 tbr, 90k tbn
  Stream #0:1[0x101]: Video: h264 (High) ([27][0][0][0] / 0x001B), yuv420p(tv, bt709, bottom coded first (swapped)), 1920x1080, 25 fps
"""
BOTH = frozenset({"zscale", "tonemap", "bwdif", "yadif", "colorspace"})


def test_the_probe_reads_hdr10_colours():
    video = parse_ffmpeg_output(HDR10).video
    assert (video.color_transfer, video.color_primaries, video.field_order) == (
        "smpte2084",
        "bt2020",
        "progressive",
    )
    assert dynamic_range(video) == "smpte2084" and not interlaced(video)


def test_dolby_vision_with_an_hlg_base_layer_is_hlg():
    video = parse_ffmpeg_output(DOLBY_VISION).video
    assert video.dolby_vision == 8
    assert dynamic_range(video) == "arib-std-b67"


def test_the_probe_reads_the_field_order():
    mpeg2, h264 = parse_ffmpeg_output(INTERLACED).streams
    assert (mpeg2.field_order, h264.field_order) == ("top first", "bottom coded first")
    assert h264.color_transfer == "bt709" and dynamic_range(h264) is None
    assert interlaced(mpeg2) and interlaced(h264)


def test_filters_fall_back_to_what_the_build_has():
    assert deinterlace_filter(BOTH).startswith("bwdif=")
    assert deinterlace_filter(frozenset({"yadif"})).startswith("yadif=")
    assert deinterlace_filter(frozenset()) is None
    assert "tonemap=tonemap=mobius" in tonemap_filter("smpte2084", BOTH)
    assert tonemap_filter("smpte2084", frozenset({"colorspace"})).startswith("format=yuv420p10le,colorspace=")
    assert tonemap_filter("smpte2084", frozenset()) is None


def test_a_plain_sdr_picture_gets_no_filters_and_no_tags():
    sdr = Stream(
        0, "video", "h264", color_transfer="bt709", color_primaries="bt709", field_order="progressive"
    )
    assert picture_filters(sdr, BOTH) == ([], [])
    assert output_tags(sdr, BOTH) == []


def test_the_transcode_command_deinterlaces_before_scaling_and_tone_maps_after():
    video = Stream(0, "video", "hevc", color_transfer="smpte2084", color_primaries="bt2020", field_order="tt")
    rendition = Rendition("/f.mkv", "transcode", 0, None, 0.0, (0.0, 2.0), 4.0, video=video)
    command = ffmpeg_command("ffmpeg", rendition, first=0, filters=BOTH)
    chain = command[command.index("-vf") + 1]
    assert chain.index("bwdif") < chain.index("scale=-2") < chain.index("tonemap")
    assert command[command.index("-color_trc") + 1] == "bt709"
    # Without the build's filter list, nothing is assumed.
    plain = ffmpeg_command("ffmpeg", rendition, first=0)
    assert "tonemap" not in plain[plain.index("-vf") + 1] and "-color_trc" not in plain


def test_a_sound_only_rendition_maps_no_video():
    rendition = Rendition("/a.m4a", "transcode", None, 0, 0.0, (0.0, 2.0), 4.0)
    command = ffmpeg_command("ffmpeg", rendition, first=1)
    assert "-vn" in command and "libx264" not in command
    assert command[command.index("-map") + 1] == "0:0"
