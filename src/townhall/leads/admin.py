from django.contrib import admin

from townhall.core.admin_site import WorkspaceScopedAdmin
from townhall.leads.models import Lead


@admin.register(Lead)
class LeadAdmin(WorkspaceScopedAdmin):
    list_display = ["person", "workspace", "stage", "score", "signals", "created_at"]
    list_filter = ["stage"]
    readonly_fields = ["person", "owner"]
