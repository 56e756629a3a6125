from django.urls import path

from server.pages import views

urlpatterns = [
    path("", views.home, name="home"),
    path("pair", views.pair, name="pair"),
    path("key-needed", views.key_needed, name="key-needed"),
]
