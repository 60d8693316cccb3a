"""URL map: web pages (workspaces under /w/<slug>/), the REST API under /api, the back-office under /admin."""

from django.contrib import admin
from django.urls import include, path

from townhall.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("w/<slug:slug>/", include("townhall.items.urls")),
    path("w/<slug:slug>/", include("townhall.people.urls")),
    path("w/<slug:slug>/", include("townhall.enrich.urls")),
    path("w/<slug:slug>/", include("townhall.connectors.urls")),
    path("w/<slug:slug>/", include("townhall.inbox.urls")),
    path("w/<slug:slug>/", include("townhall.listening.urls")),
    path("w/<slug:slug>/", include("townhall.publishing.urls")),
    path("", include("townhall.core.urls")),
]
