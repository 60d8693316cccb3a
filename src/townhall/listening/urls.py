"""Listening pages of one workspace, mounted under /w/<slug>/."""

from django.urls import path

from townhall.listening import views

app_name = "listening"

urlpatterns = [
    path("listening/", views.home, name="home"),
    path("listening/topics/new/", views.topic_create, name="topic_create"),
    path("listening/topics/<int:topic_id>/", views.topic, name="topic"),
    path("listening/topics/<int:topic_id>/settings/", views.topic_update, name="topic_update"),
    path("listening/topics/<int:topic_id>/delete/", views.topic_delete, name="topic_delete"),
    path("listening/topics/<int:topic_id>/queries/", views.queries, name="queries"),
    path("listening/topics/<int:topic_id>/queries/new/", views.query_new, name="query_new"),
    path("listening/queries/<int:query_id>/", views.query_edit, name="query_edit"),
    path("listening/queries/<int:query_id>/delete/", views.query_delete, name="query_delete"),
    path("listening/preview/", views.preview, name="preview"),
    path("listening/alerts/", views.alert_list, name="alerts"),
    path("listening/alerts/<int:alert_id>/acknowledge/", views.acknowledge, name="acknowledge"),
]
