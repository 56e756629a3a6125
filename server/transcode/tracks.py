"""A file's sound and subtitle tracks as a viewer chooses them, and what each choice asks of a conversion.

- Sound: every audio stream is listed in words ("French · AAC stereo"). Direct play always plays
  the file's first audio stream, so any other choice makes the file converted (remux, or transcode
  when the video needs it anyway); the chosen stream is what the conversion maps.
- Subtitles: plain text (SubRip, mov_text, WebVTT) is served as WebVTT and shown by the browser;
  styled (ASS/SSA) and picture (PGS, VobSub, DVB) subtitles are burned into the picture by a
  transcode (see `burn`), because a browser shows neither. Forced tracks are marked, so the player
  turns them on by default.

Choices travel in the playlist's and every segment's query string (`audio=<stream index>`,
`burn=<subtitle number>`) and are part of the conversion's cache key, so segments of different
tracks are never mixed, in the cache or in one viewer's stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from server.library.probe import MediaInfo, Stream
from server.transcode.plan import BrowserCaps, Plan, plan_playback

TEXT_CODECS = frozenset({"subrip", "webvtt", "mov_text", "text"})
STYLED_CODECS = frozenset({"ass", "ssa"})
PICTURE_CODECS = frozenset({"hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle", "xsub"})

# ISO 639-2 (bibliographic and terminology) and 639-1 codes of the languages films come in, with the
# two-letter code browsers use (navigator.languages) and the name in words.
_LANGUAGES = {
    "ar": ("ara",), "bg": ("bul",), "ca": ("cat",), "cs": ("cze", "ces"), "da": ("dan",),
    "de": ("ger", "deu"), "el": ("gre", "ell"), "en": ("eng",), "es": ("spa",), "et": ("est",),
    "fa": ("per", "fas"), "fi": ("fin",), "fr": ("fre", "fra"), "he": ("heb",), "hi": ("hin",),
    "hr": ("hrv",), "hu": ("hun",), "id": ("ind",), "is": ("ice", "isl"), "it": ("ita",),
    "ja": ("jpn",), "ko": ("kor",), "lt": ("lit",), "lv": ("lav",), "ms": ("may", "msa"),
    "nl": ("dut", "nld"), "no": ("nor", "nob", "nno"), "pl": ("pol",), "pt": ("por",),
    "ro": ("rum", "ron"), "ru": ("rus",), "sk": ("slo", "slk"), "sl": ("slv",), "sr": ("srp",),
    "sv": ("swe",), "th": ("tha",), "tr": ("tur",), "uk": ("ukr",), "vi": ("vie",),
    "zh": ("chi", "zho"),
}  # fmt: skip
_NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian", "fa": "Persian", "fi": "Finnish",
    "fr": "French", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian",
    "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese", "ko": "Korean",
    "lt": "Lithuanian", "lv": "Latvian", "ms": "Malay", "nl": "Dutch", "no": "Norwegian",
    "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak",
    "sl": "Slovenian", "sr": "Serbian", "sv": "Swedish", "th": "Thai", "tr": "Turkish",
    "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip
_TWO_LETTER = {code: short for short, codes in _LANGUAGES.items() for code in (short, *codes)}
_AUDIO_CODECS = {
    "aac": "AAC", "ac3": "AC-3", "eac3": "E-AC-3", "dts": "DTS", "truehd": "TrueHD", "mp3": "MP3",
    "mp2": "MP2", "opus": "Opus", "vorbis": "Vorbis", "flac": "FLAC", "alac": "ALAC", "wmav2": "WMA",
}  # fmt: skip
_SUBTITLE_KINDS = {
    "subrip": "SRT", "webvtt": "WebVTT", "mov_text": "Text", "text": "Text", "ass": "Styled",
    "ssa": "Styled", "hdmv_pgs_subtitle": "PGS", "dvd_subtitle": "VobSub", "dvb_subtitle": "DVB",
    "xsub": "XSUB",
}  # fmt: skip


def language_tag(code: str | None) -> str | None:
    """The two-letter code browsers use for a stream's language ("fre" -> "fr"), else the code as is."""
    if not code:
        return None
    code = code.lower()
    return _TWO_LETTER.get(code, code)


def language_name(code: str | None) -> str | None:
    """A stream's language in words ("fre" -> "French"), or None when the file does not say."""
    tag = language_tag(code)
    return _NAMES.get(tag or "", code) if tag else None


def _channels(layout: str | None) -> str | None:
    if not layout:
        return None
    return layout.split("(")[0]  # "5.1(side)" is 5.1 to a listener


def audio_label(stream: Stream, number: int) -> str:
    """ "French · AAC stereo", "English · AC-3 5.1 · Commentary": language, codec, channels, title."""
    codec = _AUDIO_CODECS.get(stream.codec, stream.codec.upper())
    sound = " ".join(part for part in (codec, _channels(stream.channels)) if part)
    parts = [language_name(stream.language) or f"Track {number + 1}", sound]
    if stream.title and stream.title.lower() not in (p.lower() for p in parts):
        parts.append(stream.title)
    return " · ".join(parts)


def subtitle_label(stream: Stream, number: int) -> str:
    """ "French · Forced", "English · Styled", "English · VobSub · SDH": what a viewer picks from."""
    parts = [language_name(stream.language) or f"Subtitles {number + 1}"]
    if stream.forced:
        parts.append("Forced")
    kind = _SUBTITLE_KINDS.get(stream.codec)
    if kind and stream.codec not in TEXT_CODECS:
        parts.append(kind)
    if stream.title and stream.title.lower() not in (p.lower() for p in parts):
        parts.append(stream.title)
    return " · ".join(parts)


def burnable(stream: Stream) -> bool:
    """Whether the track is shown by drawing it into the picture (styled text, pictures)."""
    return stream.codec in STYLED_CODECS or stream.codec in PICTURE_CODECS


def audio_choices(info: MediaInfo) -> list[dict]:
    """The sound tracks for the player: `index` (the stream's, what `audio=` names), `label`,
    `language` (the file's code), `lang` (the two-letter one browsers use), `default` (the file's
    choice: its default-marked track, else its first)."""
    marked = next((s.index for s in info.audio if s.default), info.audio[0].index if info.audio else None)
    return [
        {
            "index": stream.index,
            "label": audio_label(stream, number),
            "language": stream.language,
            "lang": language_tag(stream.language),
            "default": stream.index == marked,
        }
        for number, stream in enumerate(info.audio)
    ]


def subtitle_choices(info: MediaInfo, vtt_url: Callable[[int], str]) -> list[dict]:
    """The embedded subtitle tracks for the player: `id` ("e<number>"), `label`, `language`, `lang`
    (as for audio_choices), `forced`, `default`, and how it is shown: `kind` "text" with a WebVTT
    `url`, or "burn" (drawn into the picture by a transcode asked with `burn=<number>`)."""
    choices = []
    for number, stream in enumerate(info.subtitles):
        if stream.codec in TEXT_CODECS or stream.codec in STYLED_CODECS or stream.codec in PICTURE_CODECS:
            burn = burnable(stream)
            choices.append(
                {
                    "id": f"e{number}",
                    "number": number,
                    "label": subtitle_label(stream, number),
                    "language": stream.language,
                    "lang": language_tag(stream.language),
                    "forced": stream.forced,
                    "default": stream.default,
                    "kind": "burn" if burn else "text",
                    "url": None if burn else vtt_url(number),
                }
            )
    return choices


class BadChoice(ValueError):
    """A track choice that names no such track of this file (a stale link, a changed file)."""


@dataclass(frozen=True)
class TrackChoice:
    """What one viewer chose: an audio stream index (None: the first) and a subtitle to burn."""

    audio: int | None = None
    burn: int | None = None

    @classmethod
    def from_query(cls, query, info: MediaInfo) -> TrackChoice:
        """The choice in a request's query (`audio=`, `burn=`), checked against the file's tracks.

        Raises BadChoice for a track the file does not have."""
        audio = _number(query.get("audio"))
        burn = _number(query.get("burn"))
        if audio is not None and audio not in {s.index for s in info.audio}:
            raise BadChoice(f"This file has no sound track {audio}.")
        if burn is not None and (burn >= len(info.subtitles) or not burnable(info.subtitles[burn])):
            raise BadChoice(f"This file has no subtitle track {burn} to draw into the picture.")
        first = info.audio[0].index if info.audio else None
        return cls(None if audio == first else audio, burn)

    def audio_stream(self, info: MediaInfo) -> int | None:
        """The stream the conversion maps: the chosen one, else the file's first (as direct play)."""
        if self.audio is not None:
            return self.audio
        return info.audio[0].index if info.audio else None

    def query(self) -> str:
        """`audio=..&burn=..` for the URLs of this choice ("" for the file's own first track)."""
        parts = [f"audio={self.audio}"] if self.audio is not None else []
        parts += [f"burn={self.burn}"] if self.burn is not None else []
        return "&".join(parts)


def _number(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    if not value.isdigit() or len(value) > 6:
        raise BadChoice("A track is named by its number.")
    return int(value)


def plan_for_choice(info: MediaInfo, browser: BrowserCaps, choice: TrackChoice) -> Plan:
    """The plan for this browser with the viewer's tracks: another sound track than the first cannot
    be played directly (a browser plays the file's first one and offers no choice: Chromium has no
    `video.audioTracks`), and burned subtitles need the picture re-encoded."""
    if choice.audio is not None or choice.burn is not None:
        browser = replace(browser, plays_file=False)
    if choice.burn is not None:
        browser = replace(browser, plays_video=False)
    return plan_playback(info, browser)
