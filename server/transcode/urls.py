from django.urls import path, re_path

from server.transcode import views

urlpatterns = [
    path("api/playback/<int:folder_id>", views.playback, name="api-playback"),
    re_path(
        r"^hls/(?P<folder_id>[0-9]{1,9})/(?P<relpath>.+)/(?P<kind>remux|transcode)\.m3u8$",
        views.hls_playlist,
        name="hls-playlist",
    ),
    re_path(
        r"^hls/(?P<folder_id>[0-9]{1,9})/(?P<relpath>.+)/(?P<kind>remux|transcode)-(?P<number>[0-9]{1,6})\.ts$",
        views.hls_segment,
        name="hls-segment",
    ),
    re_path(
        r"^hls/(?P<folder_id>[0-9]{1,9})/(?P<relpath>.+)/subtitle-(?P<number>[0-9]{1,3})\.vtt$",
        views.hls_subtitle,
        name="hls-subtitle",
    ),
]
