"""Item and import pages of one workspace, mounted under /w/<slug>/."""

from django.urls import path

from townhall.items import views

app_name = "items"

urlpatterns = [
    path("items/", views.item_list, name="list"),
    path("items/<int:item_id>/", views.thread, name="thread"),
    path("imports/", views.import_list, name="imports"),
    path("imports/upload/", views.import_upload, name="import_upload"),
    path("imports/<int:run_id>/", views.import_detail, name="import_detail"),
]
