from django.contrib import admin

from townhall.core.admin_site import OwnerReadableInline, WorkspaceScopedAdmin
from townhall.workspaces.models import ApiToken, AuditLog, Membership, Workspace


class MembershipInline(OwnerReadableInline):
    # Members are managed through the API and CLI, which check roles; here owners only read them.
    model = Membership
    raw_id_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(WorkspaceScopedAdmin):
    workspace_field = "pk"
    list_display = ["slug", "name", "timezone", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "digest", "created_at", "last_used_at"]


@admin.register(AuditLog)
class AuditLogAdmin(WorkspaceScopedAdmin):
    list_display = ["created_at", "workspace", "actor", "action", "target_type", "target_id", "source"]
    list_filter = ["source", "action"]
    readonly_fields = [f.name for f in AuditLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
