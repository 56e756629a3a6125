from django.apps import AppConfig


class DlnaConfig(AppConfig):
    name = "server.dlna"
    label = "dlna"
