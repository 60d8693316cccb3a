from django.contrib import admin

from townhall.core.admin_site import WorkspaceScopedAdmin
from townhall.items.models import ImportRun, Item


@admin.register(Item)
class ItemAdmin(WorkspaceScopedAdmin):
    list_display = ["created_at", "workspace", "network", "kind", "direction", "native_id"]
    list_filter = ["network", "kind", "direction"]
    search_fields = ["native_id"]
    raw_id_fields = ["author", "person", "parent", "thread_root", "channel", "import_run"]
    show_full_result_count = False


@admin.register(ImportRun)
class ImportRunAdmin(WorkspaceScopedAdmin):
    list_display = [
        "created_at",
        "workspace",
        "format",
        "filename",
        "status",
        "imported",
        "duplicates",
        "rejected",
    ]
    list_filter = ["status", "format"]
