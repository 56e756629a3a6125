from django.urls import path

from server.pages import views

urlpatterns = [
    path("", views.home, name="home"),
    path("key-needed", views.key_needed, name="key-needed"),
]
