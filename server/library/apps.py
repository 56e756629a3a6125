from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "server.library"
    label = "library"
