"""Test films made the way real ones are, with their own time drawn into every frame.

Short clips with x264 `ultrafast` (no B-frames) and 2 s keyframe intervals hid every conversion bug
that real films showed: B-frames, open GOPs, keyframes 2-10 s apart at no regular interval, 5.1
AC-3 sound, minutes of film. These films have all of that, small in pixels (320x180 by default), so a
10-minute one encodes in well under a minute.

Every frame carries its number twice: as text for a person looking at a screenshot, and as
FRAME_BITS black or white blocks along the bottom, read back by `frame_number` (from a decoded
frame) or READ_FRAME_JS (from a playing <video> in a browser). A seek that shows the wrong moment is
then a number that differs from the clock.
"""

from __future__ import annotations

import random
import subprocess
from fractions import Fraction
from pathlib import Path

import av

from server.ffmpeg import ffmpeg_binary

FRAME_RATE = Fraction(24000, 1001)  # what films on disk mostly have
FRAME_BITS = 20  # 2^20 frames: 12 hours at 24 fps
BITS_PER_ROW = 10
# The blocks fill the bottom sixth of the picture, in two rows.
BLOCKS_TOP = 5 / 6
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _time_code_filter() -> str:
    width, height = f"iw/{BITS_PER_ROW}", f"ih/{2 * 6}"
    blocks = [f"drawbox=x=0:y=ih*{BLOCKS_TOP}:w=iw:h=ih/6:color=black:t=fill"]
    for bit in range(FRAME_BITS):
        column, row = bit % BITS_PER_ROW, bit // BITS_PER_ROW
        blocks.append(
            f"drawbox=x={column}*{width}:y=ih*{BLOCKS_TOP}+{row}*{height}:w={width}:h={height}"
            f":color=white:t=fill:enable='eq(mod(floor(n/{2**bit}),2),1)'"
        )
    text = (
        f"drawtext=fontfile={FONT}:text='%{{pts\\:hms}}  #%{{n}}':x=8:y=8"
        ":fontsize=h/8:fontcolor=white:box=1:boxcolor=black"
    )
    return ",".join([text, *blocks])


def keyframe_times(seconds: float, shortest: float, longest: float, seed: int) -> list[float]:
    """Keyframes at no regular interval, `shortest` to `longest` s apart, as an encoder with scene
    detection puts them in a real film."""
    rng = random.Random(seed)
    times, time = [], 0.0
    while time < seconds:
        times.append(round(time, 3))
        time += rng.uniform(shortest, longest)
    return times


def make_film(
    path: Path,
    seconds: float,
    *,
    codec: str = "h264",
    size: str = "320x180",
    ten_bit: bool = False,
    gop: tuple[float, float] = (2.0, 10.0),
    audio: str | None = "ac3",
    ffmpeg: str | None = None,
    seed: int = 1,
    plain: bool = False,
    interlaced: str | None = None,
) -> Path:
    """A film encoded like a real one: x264/x265 at their default preset (B-frames; open GOPs for
    x265), keyframes `gop` seconds apart at random, 5.1 AC-3 (or stereo `audio` codec), time code.
    `plain`: a still background behind the time code, a few kB per second, for films hours long.
    `interlaced`: "tff" or "bff", coded as fields as a TV recording or a camcorder's is (`codec`
    h264 or mpeg2video); each frame's two fields still show one moment, so its number reads whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    keyframes = ",".join(f"{t:.3f}" for t in keyframe_times(seconds, *gop, seed=seed))
    longest_gop = str(int(gop[1] * float(FRAME_RATE)) + 48)
    pix_fmt = "yuv420p10le" if ten_bit else "yuv420p"
    if codec == "h264":
        video = ["-c:v", "libx264", "-preset", "medium", "-g", longest_gop, "-sc_threshold", "0"]
    elif codec == "hevc":
        x265 = f"log-level=0:keyint={longest_gop}:open-gop=1:bframes=4:scenecut=0"
        video = ["-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1", "-x265-params", x265]
    elif codec == "mpeg2video":
        video = ["-c:v", "mpeg2video", "-b:v", "2M", "-g", longest_gop, "-bf", "2"]
    else:
        raise ValueError(codec)
    fields = ""
    if interlaced is not None:
        fields = f",setfield={interlaced}"
        video += ["-flags", "+ilme+ildct"]
        if codec == "h264":
            video += ["-x264-params", f"{interlaced}=1"]
    sound: list[str] = ["-an"]
    # The picture and its time code are drawn small, then scaled: drawing a 4K picture costs minutes.
    picture = "color=c=0x335577:" if plain else "testsrc2="
    inputs = ["-f", "lavfi", "-i", f"{picture}size=320x180:rate={FRAME_RATE}:duration={seconds}"]
    scale = "" if size == "320x180" else f",scale={size.replace('x', ':')}:flags=neighbor"
    if audio is not None:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000"]
        if audio == "ac3":
            sound = ["-af", "pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0", "-c:a", "ac3", "-b:a", "192k"]
        else:
            sound = ["-c:a", audio]
    subprocess.run(
        [ffmpeg or ffmpeg_binary() or "ffmpeg", "-v", "error", "-y", *inputs,
         "-vf", _time_code_filter() + scale + fields, *video, "-pix_fmt", pix_fmt,
         "-force_key_frames", keyframes, *sound, str(path)],
        check=True,
    )  # fmt: skip
    return path


def frame_number(frame: av.VideoFrame) -> int:
    """The frame number drawn into a decoded frame (an av.VideoFrame)."""
    gray = frame.reformat(format="gray")
    plane = gray.planes[0]
    pixels, stride, width, height = bytes(plane), plane.line_size, gray.width, gray.height
    number = 0
    for bit in range(FRAME_BITS):
        column, row = bit % BITS_PER_ROW, bit // BITS_PER_ROW
        x = int((column + 0.5) * width / BITS_PER_ROW)
        y = int(height * (BLOCKS_TOP + (row + 0.5) / 12))
        if pixels[y * stride + x] > 128:
            number |= 1 << bit
    return number


def frame_time(number: int) -> float:
    return float(number / FRAME_RATE)


# In a page: the frame number drawn into the <video>'s picture being shown, with that picture's own
# media time (requestVideoFrameCallback), so the two can be compared. At normal speed: while playing
# fast, Chromium paints pictures a little ahead of the time it reports.
READ_FRAME_JS = (
    """(selector) => new Promise((resolve) => {
  const video = document.querySelector(selector);
  video.requestVideoFrameCallback((now, meta) => {
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    const context = canvas.getContext('2d', {willReadFrequently: true});
    context.drawImage(video, 0, 0);
    let number = 0;
    for (let bit = 0; bit < BITS; bit++) {
      const column = bit % PER_ROW, row = Math.floor(bit / PER_ROW);
      const x = Math.floor((column + 0.5) * canvas.width / PER_ROW);
      const y = Math.floor(canvas.height * (TOP + (row + 0.5) / 12));
      const pixel = context.getImageData(x, y, 1, 1).data;
      if (pixel[0] + pixel[1] + pixel[2] > 384) number += 2 ** bit;
    }
    resolve({number, mediaTime: meta.mediaTime, currentTime: video.currentTime});
  });
})""".replace("BITS", str(FRAME_BITS))
    .replace("PER_ROW", str(BITS_PER_ROW))
    .replace("TOP", repr(BLOCKS_TOP))
)
