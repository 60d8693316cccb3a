from django.contrib import admin

from townhall.core.admin_site import WorkspaceScopedAdmin
from townhall.enrich.models import Correction, IntentSet


@admin.register(Correction)
class CorrectionAdmin(WorkspaceScopedAdmin):
    list_display = ["created_at", "workspace", "field", "labels", "previous", "created_by"]
    list_filter = ["field"]
    raw_id_fields = ["item"]


@admin.register(IntentSet)
class IntentSetAdmin(WorkspaceScopedAdmin):
    list_display = ["name", "workspace", "examples", "trained_at", "active"]
    exclude = ["model"]
