"""The playback decision, the MIME strings asked of the browser, segment boundaries and playlists."""

from __future__ import annotations

from dataclasses import replace

from server.library import codecs
from server.library.probe import MediaInfo, Stream
from server.transcode.plan import BrowserCaps, browser_family, direct_play_misbehaves, plan_playback
from server.transcode.segments import (
    Rendition,
    Timeline,
    ffmpeg_command,
    fixed_boundaries,
    keyframe_boundaries,
    playlist,
)

H264 = Stream(0, "video", "h264", profile="High", height=1080)
HEVC_HEV1 = Stream(0, "video", "hevc", profile="Main", tag="hev1", height=1080)
MPEG4 = Stream(0, "video", "mpeg4", profile="Simple Profile", height=240)
AC3 = Stream(1, "audio", "ac3")
AAC = Stream(1, "audio", "aac", profile="LC")
MP3 = Stream(1, "audio", "mp3")

MKV_H264_AC3 = MediaInfo("matroska,webm", 20.0, (H264, AC3))
AVI_MPEG4_MP3 = MediaInfo("avi", 20.0, (MPEG4, MP3))
MP4_HEVC = MediaInfo("mov,mp4,m4a,3gp,3g2,mj2", 20.0, (HEVC_HEV1, AAC))
CHROMIUM_ON_MKV = BrowserCaps(plays_file=False, plays_video=True, plays_hls=True)


def test_a_file_the_browser_plays_is_played_directly():
    plan = plan_playback(MKV_H264_AC3, BrowserCaps(plays_file=True, plays_video=True, plays_hls=True))
    assert plan.kind == "direct"


def test_h264_with_unplayable_sound_is_remuxed_with_the_sound_in_aac():
    plan = plan_playback(MKV_H264_AC3, CHROMIUM_ON_MKV)
    assert (plan.kind, plan.audio) == ("remux", "aac")


def test_mpeg4_part2_video_is_transcoded():
    plan = plan_playback(AVI_MPEG4_MP3, BrowserCaps(plays_file=False, plays_video=False, plays_hls=True))
    assert plan.kind == "transcode"


def test_hevc_is_transcoded_even_when_the_browser_plays_hevc_video():
    # HEVC cannot go into the MPEG-TS segments as it is: only H.264 is copied.
    plan = plan_playback(MP4_HEVC, BrowserCaps(plays_file=False, plays_video=True, plays_hls=True))
    assert plan.kind == "transcode"


def test_h264_the_browser_cannot_decode_is_transcoded():
    hi10p = MediaInfo("matroska,webm", 20.0, (Stream(0, "video", "h264", profile="High 10"), AAC))
    plan = plan_playback(hi10p, BrowserCaps(plays_file=False, plays_video=False, plays_hls=True))
    assert plan.kind == "transcode"


def test_a_browser_without_hls_gets_the_file_as_it_is():
    plan = plan_playback(MKV_H264_AC3, BrowserCaps(plays_file=False, plays_video=True, plays_hls=False))
    assert plan.kind == "direct"


def test_a_sound_only_file_the_browser_plays_is_played_directly():
    flac = MediaInfo("flac", 200.0, (Stream(0, "audio", "flac"),))
    assert (
        plan_playback(flac, BrowserCaps(plays_file=True, plays_video=False, plays_hls=True)).kind == "direct"
    )
    assert codecs.file_type(flac, "/m/song.flac") == "audio/flac"  # Chromium: "" with codecs="flac"


def test_a_sound_only_file_the_browser_cannot_decode_becomes_aac():
    alac = MediaInfo("mov,mp4,m4a,3gp,3g2,mj2", 200.0, (Stream(0, "audio", "alac", tag="alac"),))
    assert codecs.file_type(alac, "/m/song.m4a") == 'audio/mp4; codecs="alac"'
    plan = plan_playback(alac, BrowserCaps(plays_file=False, plays_video=False, plays_hls=True))
    assert (plan.kind, plan.audio) == ("transcode", "aac")


FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
FIREFOX_IOS = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 FxiOS/128.0 Mobile"


def test_browser_families_from_user_agents():
    assert [browser_family(ua) for ua in (FIREFOX, CHROME, FIREFOX_IOS, "")] == [
        "firefox",
        "chromium",
        "safari",
        "",
    ]


def test_firefox_never_gets_hevc_in_matroska_directly():
    hevc = Stream(0, "video", "hevc", profile="Main", tag="hev1", height=1080)
    mkv = MediaInfo("matroska,webm", 20.0, (hevc, AAC))
    mp4 = MediaInfo("mov,mp4,m4a,3gp,3g2,mj2", 20.0, (hevc, AAC))
    says_yes = {"plays_file": True, "plays_video": True, "plays_hls": True}
    assert direct_play_misbehaves(mkv, "firefox")
    assert plan_playback(mkv, BrowserCaps(**says_yes, family="firefox")).kind == "transcode"
    # The same file elsewhere, and HEVC in MP4 in Firefox, seek fine: played as they are.
    assert plan_playback(mkv, BrowserCaps(**says_yes, family="chromium")).kind == "direct"
    assert plan_playback(mp4, BrowserCaps(**says_yes, family="firefox")).kind == "direct"
    assert direct_play_misbehaves(MKV_H264_AC3, "firefox") is None


def test_mkv_type_names_matroska_h264_and_ac3():
    assert codecs.file_type(MKV_H264_AC3, "/v/film.mkv") == 'video/x-matroska; codecs="avc1.640028, ac-3"'


def test_hevc_type_keeps_the_hev1_tag():
    assert codecs.file_type(MP4_HEVC, "/v/film.mp4") == 'video/mp4; codecs="hev1.1.6.L93.B0, mp4a.40.2"'


def test_only_h264_has_a_copied_video_type():
    assert codecs.copied_video_type(MKV_H264_AC3) == 'video/mp4; codecs="avc1.640028"'
    assert codecs.copied_video_type(MP4_HEVC) is None


def test_fixed_boundaries_cover_the_whole_duration():
    assert fixed_boundaries(Timeline(0.0, 10.0), 4.0) == [0.0, 4.0, 8.0]
    assert fixed_boundaries(Timeline(0.0, 8.0), 4.0) == [0.0, 4.0]


def test_fixed_boundaries_count_from_the_films_own_start():
    """An MPEG-TS recording starts its clock anywhere: segments start there, not at zero."""
    assert fixed_boundaries(Timeline(600.5, 606.5), 2.0) == [600.5, 602.5, 604.5]


def test_keyframe_boundaries_skip_keyframes_closer_than_the_minimum():
    keyframes = (0.0, 1.92, 3.84, 5.76, 7.68, 9.6)
    assert keyframe_boundaries(Timeline(0.0, 10.0, keyframes), minimum=3.0) == [0.0, 3.84, 7.68]


def test_keyframe_boundaries_follow_sparse_keyframes():
    assert keyframe_boundaries(Timeline(0.0, 25.0, (0.0, 10.0, 20.0))) == [0.0, 10.0, 20.0]


def test_keyframe_boundaries_pass_over_a_keyframe_right_after_another():
    """Two keyframes 0.1 s apart (a scene cut): the cutter could take either for a boundary that an
    index gives a little off, so neither the second nor any keyframe that close becomes one."""
    timeline = Timeline(0.0, 30.0, (0.0, 10.0, 10.1, 20.0))
    assert keyframe_boundaries(timeline) == [0.0, 10.0, 20.0]


def test_playlist_is_a_complete_vod_list():
    text = playlist([0.0, 4.0, 8.0], 10.5, "transcode-{}.ts".format)
    assert text == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:4\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXTINF:4.000000,\ntranscode-0.ts\n#EXTINF:4.000000,\ntranscode-1.ts\n"
        "#EXTINF:2.500000,\ntranscode-2.ts\n#EXT-X-ENDLIST\n"
    )


def test_playlist_target_duration_covers_the_longest_segment():
    assert "#EXT-X-TARGETDURATION:10\n" in playlist([0.0, 9.6], 12.0, "remux-{}.ts".format)


def rendition(
    kind: str,
    boundaries: tuple[float, ...],
    *,
    video: int = 0,
    audio: int | None = 1,
    keyframes: tuple[float, ...] = (),
) -> Rendition:
    return Rendition(
        "/v/film.mkv", kind, video, audio, boundaries[0], boundaries, boundaries[-1] + 3, keyframes
    )


def test_a_process_for_a_later_segment_starts_just_before_the_keyframe_before_it():
    """Decoding starts on a keyframe whatever the container's seek does (MPEG-TS lands near the time
    asked for and starts at the next keyframe after it)."""
    keyframes = (0.0, 3.84, 7.68, 11.52)
    command = ffmpeg_command("ffmpeg", rendition("remux", keyframes, keyframes=keyframes), first=2)
    assert command[command.index("-ss") + 1] == "3.590000"
    assert command.index("-ss") < command.index("-copyts") < command.index("-i")
    assert command[command.index("-c:v") + 1] == "copy"
    assert command[-3:] == ["-f", "nut", "pipe:1"]


def test_with_an_index_a_process_starts_on_the_keyframe_itself():
    """An index makes -ss land on the keyframe asked for: asking for a little before it would land
    on the one before and decode a whole GOP more (up to 10 s of 4K HEVC)."""
    keyframes = (0.0, 3.84, 7.68, 11.52)
    indexed = replace(rendition("transcode", keyframes, keyframes=keyframes), indexed=True)
    command = ffmpeg_command("ffmpeg", indexed, first=2)
    assert command[command.index("-ss") + 1] == "3.840000"


def test_a_transcode_process_forces_keyframes_on_its_own_boundaries_and_one_more():
    command = ffmpeg_command("ffmpeg", rendition("transcode", (0.0, 2.0, 4.0, 6.0, 8.0)), first=2)
    assert command[command.index("-force_key_frames") + 1] == "4.000000,6.000000,8.000000"
    assert "scenecut=0" in command[command.index("-x264-params") + 1]


def test_a_process_names_a_bounded_number_of_marks_however_long_the_film():
    """Every cut time in one argument failed with E2BIG (Linux caps one at 128 KiB) for a 6-hour film."""
    boundaries = tuple(float(n) * 2 for n in range(20_000))
    command = ffmpeg_command("ffmpeg", rendition("transcode", boundaries), first=100)
    assert max(len(argument) for argument in command) < 16 * 1024


def test_sound_is_encoded_on_one_grid_of_aac_frames_from_time_zero():
    command = ffmpeg_command("ffmpeg", rendition("transcode", (0.0, 2.0, 4.0, 6.0)), first=3)
    first_pts = int(command[command.index("-af") + 1].split("first_pts=")[1])
    assert first_pts % 1024 == 0 and first_pts >= 4.0 * 48000


def test_a_film_without_sound_is_converted_without_sound():
    command = ffmpeg_command("ffmpeg", rendition("transcode", (0.0, 2.0), audio=None), first=0)
    assert "-ss" not in command and "-c:a" not in command


def test_streams_are_mapped_by_index_not_by_type():
    # An MP4's cover art is a video stream too, often the first one.
    command = ffmpeg_command("ffmpeg", rendition("transcode", (0.0,), video=1, audio=2), first=0)
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "-map"] == ["0:1", "0:2"]
