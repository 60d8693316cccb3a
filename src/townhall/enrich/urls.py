"""Understanding pages of one workspace, mounted under /w/<slug>/."""

from django.urls import path

from townhall.enrich import views

app_name = "enrich"

urlpatterns = [
    path("items/<int:item_id>/understanding/", views.correct, name="correct"),
]
