"""Channel pages: the workspace's connected accounts and sources, their health, and connecting a new one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from townhall.connectors import services
from townhall.connectors.models import ChannelStatus, Network
from townhall.connectors.registry import connector_for, connectors
from townhall.connectors.sync import do_check, do_sync
from townhall.core.errors import TownhallError
from townhall.core.web import workspace_page
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import can, record_audit


def _offered() -> list[dict[str, Any]]:
    return [
        {"name": name, "label": cls.label}
        for name, cls in sorted(connectors().items())
        if name not in ("file",)
    ]


@workspace_page("channels.view")
def channel_list(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    rows = []
    for channel in services.list_channels(workspace=workspace):
        cls = connector_for(channel.connector_kind)
        rows.append(
            {
                "channel": channel,
                "connector": cls.label if cls else "",
                "can_read": bool(cls and cls.capabilities.read),
            }
        )
    chosen = request.GET.get("network", "")
    chosen_cls = connector_for(chosen) if chosen else None
    return render(
        request,
        "connectors/list.html",
        {
            "workspace": workspace,
            "section": "channels",
            "rows": rows,
            "offered": _offered(),
            # A dict, not the class: templates call what is callable.
            "chosen": {"label": chosen_cls.label, "fields": chosen_cls.credential_fields}
            if chosen_cls
            else None,
            "chosen_name": chosen,
            "can_manage": can(user=request.user, workspace=workspace, permission="channels.manage"),
        },
    )


@require_POST
@workspace_page("channels.manage")
def channel_connect(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    network = request.POST.get("network", "")
    cls = connector_for(network)
    if cls is None:
        messages.error(request, f"no connector for {network!r}")
        return redirect("connectors:list", workspace.slug)
    credentials = {f.name: request.POST.get(f"cred_{f.name}", "").strip() for f in cls.credential_fields}
    missing = [f.label for f in cls.credential_fields if f.required and not credentials[f.name]]
    if missing:
        messages.error(request, f"fill in: {', '.join(missing)}")
        return redirect(f"{request.path.rsplit('connect/', 1)[0]}?network={network}")
    try:
        channel = services.do_create_channel(
            workspace=workspace,
            network=network if network in Network.values else Network.OTHER,
            handle=request.POST.get("handle", "").strip(),
            is_ours=request.POST.get("is_ours") == "on",
            credentials={k: v for k, v in credentials.items() if v},
            settings={} if network in Network.values else {"connector": network},
        )
    except TownhallError as exc:
        messages.error(request, exc.message)
        return redirect(f"{request.path.rsplit('connect/', 1)[0]}?network={network}")
    record_audit(
        actor=request.user, action="channel.create", target=channel, workspace=workspace, source="ui"
    )
    health = do_check(channel)
    (messages.success if health.ok else messages.warning)(
        request,
        f"{channel.handle}: {'connected' if health.ok else 'saved, but the test failed'} — {health.message}",
    )
    return redirect("connectors:list", workspace.slug)


def _channel_action(request: HttpRequest, workspace: Workspace, channel_id: int, action: str) -> HttpResponse:
    channel = services.access_channel_by_id(workspace=workspace, channel_id=channel_id)
    if action == "check":
        health = do_check(channel)
        (messages.success if health.ok else messages.error)(request, f"{channel.handle}: {health.message}")
    elif action == "sync":
        result = do_sync(channel)
        if result.error:
            messages.error(request, f"{channel.handle}: {result.error}")
        else:
            messages.success(request, f"{channel.handle}: {result.imported} new items")
    elif action in ("pause", "resume"):
        status = ChannelStatus.PAUSED if action == "pause" else ChannelStatus.ACTIVE
        services.do_update_channel(channel=channel, changes={"status": status})
        messages.success(request, f"{channel.handle}: {'paused' if action == 'pause' else 'resumed'}")
    record_audit(
        actor=request.user, action=f"channel.{action}", target=channel, workspace=workspace, source="ui"
    )
    return redirect("connectors:list", workspace.slug)


@require_POST
@workspace_page("channels.manage")
def channel_action(request: HttpRequest, workspace: Workspace, channel_id: int, action: str) -> HttpResponse:
    if action not in ("check", "sync", "pause", "resume"):
        messages.error(request, f"unknown action {action!r}")
        return redirect("connectors:list", workspace.slug)
    return _channel_action(request, workspace, channel_id, action)
