"""Readable titles from file names: "The.Big.Trip.2019.1080p.WEB-DL.x264-GRP.mkv" -> "The Big Trip (2019)"."""

from __future__ import annotations

import re

# Release tags that end the title part of a name: quality, source, codec, audio, edition.
_RELEASE_TAG = re.compile(
    r"[\s._\-\[(]+(?:2160p|1080[pi]|720p|576p|480p|4k|uhd|hdr\d*|bluray|blu-ray|bdrip|brrip|web-?dl|webrip|"
    r"web|hdtv|dvdrip|dvd|xvid|divx|[xh]\.?26[45]|hevc|avc|aac(?:2\.0)?|ac3|dts|ddp?5\.1|10bit|remux|"
    r"proper|repack|extended|unrated|multi)(?=[\s._\-\])]|$).*$",
    re.IGNORECASE,
)
_YEAR = re.compile(r"^(?P<title>.+?)[\s._]*[\[(]?(?P<year>(?:19|20)\d\d)[\])]?$")
_EPISODE = re.compile(r"\b[sS](\d{1,2})[eE](\d{1,3})\b")
_BRACKETED_GROUP = re.compile(r"^\s*\[[^\]]*\]\s*")
# Camera and phone file names ("IMG_2034.MOV"): the number is a counter, not a year.
_CAMERA_PREFIX = re.compile(r"^(?:img|vid|mov|mvi|dsc|dscn|pxl|gopr|gh\d+|dji)$", re.IGNORECASE)


def readable_title(file_name: str) -> str:
    """A title for people: extension, dots, underscores and release tags gone; a year kept in brackets."""
    stem = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
    stem = _BRACKETED_GROUP.sub("", stem)  # "[Group] Show - 01"
    stem = _RELEASE_TAG.sub("", stem)
    if " " not in stem.strip() and ("." in stem or "_" in stem):
        stem = re.sub(r"[._]+", " ", stem)
    else:
        stem = stem.replace("_", " ")
    stem = _EPISODE.sub(lambda m: f"S{int(m.group(1)):02d}E{int(m.group(2)):02d}", stem)
    stem = re.sub(r"\s+", " ", stem).strip(" -.")
    year = _YEAR.match(stem)
    if (
        year
        and year.group("title").strip(" -.")
        and not _CAMERA_PREFIX.match(year.group("title").strip(" -."))
    ):
        stem = f"{year.group('title').strip(' -.')} ({year.group('year')})"
    return stem or file_name
