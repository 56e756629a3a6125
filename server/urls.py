"""Every URL Couchcast answers; each app owns its own list."""

from django.urls import include, path

urlpatterns = [
    path("", include("server.streaming.urls")),
    path("", include("server.api.urls")),
    path("", include("server.transcode.urls")),
    path("", include("server.pages.urls")),
    path("", include("server.dlna.urls")),
]

handler400 = "server.pages.views.bad_request"
handler403 = "server.pages.views.forbidden"
handler404 = "server.pages.views.not_found"
handler500 = "server.pages.views.server_error"
