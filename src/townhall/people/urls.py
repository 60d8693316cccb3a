"""People pages of one workspace, mounted under /w/<slug>/."""

from django.urls import path

from townhall.people import views

app_name = "people"

urlpatterns = [
    path("people/", views.person_list, name="list"),
    path("people/<int:person_id>/", views.person_detail, name="detail"),
]
