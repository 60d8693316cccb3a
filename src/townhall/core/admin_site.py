"""The back-office: Django's admin, for site administrators and for owners (their workspaces only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.db.models import Model, QuerySet
from django.http import HttpRequest


def owned_workspace_ids(request: HttpRequest) -> list[int]:
    from townhall.workspaces.models import Membership, Role

    cached = getattr(request, "_owned_workspace_ids", None)
    if cached is None:
        user = request.user
        cached = (
            list(
                Membership.objects.filter(user_id=user.pk, role=Role.OWNER).values_list(
                    "workspace_id", flat=True
                )
            )
            if user.is_authenticated and user.is_active
            else []
        )
        request._owned_workspace_ids = cached  # type: ignore[attr-defined]
    return cached


class TownhallAdminSite(admin.AdminSite):
    site_header = "Townhall back-office"
    site_title = "Townhall back-office"
    index_title = "Back-office"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and (user.is_superuser or owned_workspace_ids(request)))


class TownhallAdminConfig(AdminConfig):
    default_site = "townhall.core.admin_site.TownhallAdminSite"


class WorkspaceScopedAdmin(admin.ModelAdmin):
    """Owners see and edit only the rows of the workspaces they own; site administrators see everything."""

    workspace_field = "workspace"

    def _scoped(self, request: HttpRequest) -> bool:
        return not request.user.is_superuser

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        rows = super().get_queryset(request)
        if self._scoped(request):
            rows = rows.filter(**{f"{self.workspace_field}__in": owned_workspace_ids(request)})
        return rows

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if self._scoped(request) and db_field.name == self.workspace_field:
            from townhall.workspaces.models import Workspace

            kwargs["queryset"] = Workspace.objects.filter(pk__in=owned_workspace_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _owner_may(self, request: HttpRequest, obj: Model | None) -> bool:
        owned = owned_workspace_ids(request)
        if not owned:
            return False
        if obj is None:
            return True
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or bool(owned_workspace_ids(request))

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) or self._owner_may(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) or self._owner_may(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) or self._owner_may(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) or bool(owned_workspace_ids(request))


class OwnerReadableInline(admin.TabularInline):
    """Owners see an inline's rows (the parent is already scoped); only site administrators change them."""

    extra = 0

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) or bool(owned_workspace_ids(request))
