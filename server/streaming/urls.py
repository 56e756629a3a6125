from django.urls import path

from server.streaming import views

urlpatterns = [
    path("media/<int:folder_id>/<path:relpath>", views.media, name="media"),
    path("subtitles/<int:folder_id>/<path:relpath>", views.subtitle, name="subtitle"),
]
