from django.urls import path

from server.pages import views

urlpatterns = [
    path("", views.home, name="home"),
    path("search", views.search, name="search"),
    path("library/<int:folder_id>/", views.folder, name="folder-top"),
    path("library/<int:folder_id>/<path:relpath>", views.folder, name="folder"),
    path("watch/<int:folder_id>/<path:relpath>", views.watch, name="watch"),
    path("thumbnails/<int:folder_id>/<path:relpath>", views.thumbnail, name="thumbnail"),
    path("pair", views.pair, name="pair"),
    path("key-needed", views.key_needed, name="key-needed"),
]
