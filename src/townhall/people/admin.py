from django.contrib import admin

from townhall.core.admin_site import OwnerReadableInline, WorkspaceScopedAdmin
from townhall.people.models import Activity, Identity, Person


class IdentityInline(OwnerReadableInline):
    model = Identity
    extra = 0
    fields = ["network", "native_id", "handle", "followers", "verified"]


@admin.register(Person)
class PersonAdmin(WorkspaceScopedAdmin):
    list_display = ["display_name", "workspace", "lifecycle", "last_seen_at"]
    list_filter = ["lifecycle", "is_team_member", "is_bot"]
    search_fields = ["display_name", "email", "identities__handle"]
    inlines = [IdentityInline]


@admin.register(Activity)
class ActivityAdmin(WorkspaceScopedAdmin):
    list_display = ["occurred_at", "person", "kind", "network"]
    list_filter = ["kind", "network"]
    raw_id_fields = ["person", "item"]
