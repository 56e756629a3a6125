from django.urls import path

from server.dlna import views

urlpatterns = [
    path("dlna/description.xml", views.device, name="dlna-description"),
    path("dlna/<str:name>.xml", views.scpd, name="dlna-scpd"),
    path("dlna/control/<str:name>", views.control, name="dlna-control"),
    path("dlna/event/<str:name>", views.event, name="dlna-event"),
    # Reached only through a signed link (server.access.links) for that one subtitle file.
    path("captions/<int:folder_id>/<path:relpath>", views.caption, name="dlna-caption"),
]
