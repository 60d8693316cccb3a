"""Channel pages of one workspace, mounted under /w/<slug>/."""

from django.urls import path

from townhall.connectors import views

app_name = "connectors"

urlpatterns = [
    path("channels/", views.channel_list, name="list"),
    path("channels/connect/", views.channel_connect, name="connect"),
    path("channels/<int:channel_id>/<str:action>/", views.channel_action, name="action"),
]
