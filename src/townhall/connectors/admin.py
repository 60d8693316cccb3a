from django.contrib import admin

from townhall.connectors.models import Channel
from townhall.core.admin_site import WorkspaceScopedAdmin


@admin.register(Channel)
class ChannelAdmin(WorkspaceScopedAdmin):
    list_display = ["workspace", "network", "handle", "is_ours", "status", "last_synced_at"]
    list_filter = ["network", "status", "is_ours"]
    search_fields = ["handle", "display_name"]
    exclude = ["credentials"]
