"""File names made readable for the library's titles."""

import pytest

from server.library.titles import readable_title


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("The.Big.Trip.2019.1080p.WEB-DL.x264-GRP.mkv", "The Big Trip (2019)"),
        ("Show.Name.s01e02.720p.HDTV.mkv", "Show Name S01E02"),
        ("[Group] Anime - 01 [1080p].mkv", "Anime - 01"),
        ("my_holiday_video.mp4", "my holiday video"),
        ("Episode 10.mp4", "Episode 10"),
        ("2001 A Space Odyssey (1968).mp4", "2001 A Space Odyssey (1968)"),
        ("1917.mp4", "1917"),
        ("IMG_2034.MOV", "IMG 2034"),
    ],
)
def test_file_names_become_readable_titles(name, title):
    assert readable_title(name) == title
