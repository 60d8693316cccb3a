from django.contrib import admin

from townhall.core.admin_site import WorkspaceScopedAdmin
from townhall.inbox.models import CannedReply, RoutingRule, SlaPolicy, Team

# Conversations are worked in the inbox itself; the back-office keeps the inbox's set-up. Only models whose
# one foreign key is the workspace are here, so an owner's choices never list another workspace's rows.


@admin.register(RoutingRule)
class RoutingRuleAdmin(WorkspaceScopedAdmin):
    list_display = ["name", "workspace", "position", "enabled", "stop", "fired"]


@admin.register(Team)
class TeamAdmin(WorkspaceScopedAdmin):
    list_display = ["name", "workspace"]
    exclude = ["last_assigned"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(WorkspaceScopedAdmin):
    list_display = ["name", "workspace", "first_response_minutes", "resolution_minutes"]


@admin.register(CannedReply)
class CannedReplyAdmin(WorkspaceScopedAdmin):
    list_display = ["shortcut", "title", "workspace"]
