"""Inbox pages of one workspace, mounted under /w/<slug>/."""

from django.urls import path

from townhall.inbox import setup_views, views

app_name = "inbox"

urlpatterns = [
    path("inbox/", views.inbox_list, name="list"),
    path("inbox/bulk/", views.bulk, name="bulk"),
    path("inbox/views/", views.save_view, name="save_view"),
    path("inbox/<int:conversation_id>/", views.conversation, name="conversation"),
    path("inbox/<int:conversation_id>/update/", views.update, name="update"),
    path("inbox/<int:conversation_id>/reply/", views.reply, name="reply"),
    path("inbox/<int:conversation_id>/reply/length/", views.reply_length, name="reply_length"),
    path("inbox/<int:conversation_id>/canned/<int:canned_id>/", views.canned_text, name="canned_text"),
    path("inbox/<int:conversation_id>/note/", views.note, name="note"),
    path("inbox/<int:conversation_id>/delegate/", views.delegate, name="delegate"),
    path("inbox/<int:conversation_id>/merge/", views.merge, name="merge"),
    path("inbox/rules/", setup_views.rule_list, name="rules"),
    path("inbox/rules/new/", setup_views.rule_create, name="rule_create"),
    path("inbox/rules/dry-run/", setup_views.rule_dry_run, name="rule_dry_run"),
    path("inbox/rules/<int:rule_id>/toggle/", setup_views.rule_toggle, name="rule_toggle"),
    path("inbox/teams/", setup_views.team_list, name="teams"),
    path("inbox/teams/new/", setup_views.team_create, name="team_create"),
    path("inbox/teams/<int:team_id>/members/", setup_views.team_members_update, name="team_members"),
    path("inbox/canned/", setup_views.canned_list, name="canned"),
    path("inbox/canned/new/", setup_views.canned_create, name="canned_create"),
    path("inbox/report/", setup_views.report, name="report"),
    path("inbox/report.csv", setup_views.report_csv, name="report_csv"),
]
