"""Publishing pages of one workspace, mounted under /w/<slug>/."""

from django.urls import path

from townhall.publishing import plan_views, views

app_name = "publishing"

urlpatterns = [
    path("publishing/", plan_views.calendar, name="calendar"),
    path("publishing/posts/new/", views.compose_new, name="compose"),
    path("publishing/posts/<int:post_id>/", views.post_detail, name="post"),
    path("publishing/posts/<int:post_id>/edit/", views.compose_edit, name="edit"),
    path("publishing/posts/<int:post_id>/submit/", views.submit, name="submit"),
    path("publishing/posts/<int:post_id>/decide/", views.decide, name="decide"),
    path("publishing/posts/<int:post_id>/reschedule/", views.reschedule, name="reschedule"),
    path("publishing/posts/<int:post_id>/cancel/", views.cancel, name="cancel"),
    path("publishing/posts/<int:post_id>/variants/<int:channel_id>/", views.variant, name="variant"),
    path("publishing/posts/<int:post_id>/variants/<int:channel_id>/retry/", views.retry, name="retry"),
    path("publishing/posts/<int:post_id>/variants/<int:channel_id>/settle/", views.settle, name="settle"),
    path("publishing/preview/", views.preview, name="preview"),
    path("publishing/approvals/", plan_views.approval_queue, name="approvals"),
    path("publishing/campaigns/", plan_views.campaign_list, name="campaigns"),
    path("publishing/campaigns/new/", plan_views.campaign_create, name="campaign_create"),
    path("publishing/campaigns/<int:campaign_id>/", plan_views.campaign_edit, name="campaign"),
    path("publishing/queues/", plan_views.slot_list, name="slots"),
    path("publishing/queues/<int:channel_id>/", plan_views.slot_edit, name="slot_edit"),
]
