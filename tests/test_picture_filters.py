"""The probe reads colours and field order; a transcode deinterlaces and tone-maps from them."""

from __future__ import annotations

import pytest

from server.library.probe import Stream, probe
from server.transcode.picture import (
    deinterlace_filter,
    dynamic_range,
    interlaced,
    output_tags,
    picture_filters,
    tonemap_filter,
)
from server.transcode.segments import Rendition, ffmpeg_command
from tests.probe_corpus import DOVI_PROFILE_8_HLG, make_corpus, with_dolby_vision

BOTH = frozenset({"zscale", "tonemap", "bwdif", "yadif", "colorspace"})


@pytest.fixture(scope="module")
def films(tmp_path_factory):
    made = make_corpus(tmp_path_factory.mktemp("films"))
    # Dolby Vision 8.4, as an iPhone records it: an HLG base layer.
    made["iphone.mp4"] = with_dolby_vision(
        made["hlg.mp4"], made["hlg.mp4"].with_name("iphone.mp4"), DOVI_PROFILE_8_HLG
    )
    return made


def test_the_probe_reads_hdr10_colours(films):
    video = probe(str(films["hdr10.mkv"])).video
    assert (video.color_transfer, video.color_primaries, video.field_order) == (
        "smpte2084",
        "bt2020",
        "progressive",
    )
    assert dynamic_range(video) == "smpte2084" and not interlaced(video)


def test_dolby_vision_with_an_hlg_base_layer_is_hlg(films):
    video = probe(str(films["iphone.mp4"])).video
    assert video.dolby_vision == 8
    assert dynamic_range(video) == "arib-std-b67"


def test_dolby_vision_without_a_base_layer_is_tone_mapped_as_pq(films):
    video = probe(str(films["dolby-vision-5.mp4"])).video
    assert (video.dolby_vision, video.color_transfer) == (5, None)
    assert dynamic_range(video) == "smpte2084"


def test_the_probe_reads_the_field_order(films):
    mpeg2, h264 = probe(str(films["tv-mpeg2.ts"])).video, probe(str(films["camcorder.mts"])).video
    assert (mpeg2.field_order, h264.field_order) == ("top first", "bottom first")
    assert dynamic_range(h264) is None
    assert interlaced(mpeg2) and interlaced(h264)
    # Coded as fields, the other one first (AV_FIELD_BT): ffmpeg's "(swapped)" was never stored.
    assert interlaced(Stream(0, "video", "h264", field_order="bottom coded first"))
    assert not interlaced(probe(str(films["portrait.mov"])).video)


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
