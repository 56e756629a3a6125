from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "server.pages"
    label = "pages"
