from django.urls import path

from server.api import views

urlpatterns = [
    path("api/folders", views.folder_list, name="api-folders"),
    path("api/folders/<int:folder_id>/items", views.folder_items, name="api-folder-items"),
    path("api/progress", views.save_progress, name="api-progress"),
]
