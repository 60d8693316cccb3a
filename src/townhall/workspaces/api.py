"""REST endpoints for workspaces and their members."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from ninja import Router, Status

from townhall.core.api_base import ERRORS, client_ip
from townhall.core.errors import Forbidden, NotFound
from townhall.workspaces import services
from townhall.workspaces.models import AuditLog, Membership
from townhall.workspaces.schemas import (
    AuditRead,
    MembershipCreate,
    MembershipRead,
    WorkspaceCreate,
    WorkspaceRead,
)

router = Router(tags=["workspaces"])


def _read(workspace, role: str | None) -> WorkspaceRead:
    return WorkspaceRead(
        slug=workspace.slug,
        name=workspace.name,
        timezone=workspace.timezone,
        role=role,
        created_at=workspace.created_at,
    )


@router.get("/workspaces", response=list[WorkspaceRead])
def list_workspaces(request: HttpRequest) -> list[WorkspaceRead]:
    """The workspaces you belong to, with your role in each."""
    return [
        _read(w, services.role_of(user=request.user, workspace=w))
        for w in services.workspaces_of(user=request.user)
    ]


@router.post("/workspaces", response={201: WorkspaceRead, **ERRORS})
def create_workspace(request: HttpRequest, payload: WorkspaceCreate) -> Status[WorkspaceRead]:
    """Create a workspace (a brand); only site administrators may."""
    if not request.user.is_staff:
        raise Forbidden("only site administrators can create workspaces")
    workspace = services.do_create_workspace(
        slug=payload.slug, name=payload.name, owner=request.user, timezone_name=payload.timezone
    )
    services.record_audit(
        actor=request.user,
        action="workspace.create",
        target=workspace,
        workspace=workspace,
        ip_address=client_ip(request),
    )
    return Status(201, _read(workspace, "owner"))


@router.get("/workspaces/{slug}", response={200: WorkspaceRead, **ERRORS})
def get_workspace(request: HttpRequest, slug: str) -> WorkspaceRead:
    workspace = services.access_workspace(user=request.user, slug=slug)
    return _read(workspace, services.role_of(user=request.user, workspace=workspace))


@router.get("/workspaces/{slug}/members", response={200: list[MembershipRead], **ERRORS})
def list_members(request: HttpRequest, slug: str) -> list[MembershipRead]:
    workspace = services.access_workspace(user=request.user, slug=slug, permission="members.manage")
    rows = Membership.objects.filter(workspace=workspace).select_related("user").order_by("user__username")
    return [MembershipRead(username=m.user.get_username(), role=m.role) for m in rows]


@router.put("/workspaces/{slug}/members", response={200: MembershipRead, **ERRORS})
def set_member(request: HttpRequest, slug: str, payload: MembershipCreate) -> MembershipRead:
    """Add a user to the workspace or change their role."""
    workspace = services.access_workspace(user=request.user, slug=slug, permission="members.manage")
    user = get_user_model().objects.filter(username=payload.username).first()
    if user is None:
        raise NotFound(f"user {payload.username!r} does not exist")
    services.check_membership_change(actor=request.user, workspace=workspace, user=user, role=payload.role)
    membership = services.do_set_membership(workspace=workspace, user=user, role=payload.role)
    services.record_audit(
        actor=request.user,
        action="membership.set",
        target=membership,
        workspace=workspace,
        detail={"username": payload.username, "role": payload.role},
        ip_address=client_ip(request),
    )
    return MembershipRead(username=payload.username, role=membership.role)


@router.get("/workspaces/{slug}/audit", response={200: list[AuditRead], **ERRORS})
def list_audit(request: HttpRequest, slug: str, limit: int = 100) -> list[AuditRead]:
    """The latest writes in the workspace: who did what, when."""
    workspace = services.access_workspace(user=request.user, slug=slug, permission="audit.view")
    rows = AuditLog.objects.filter(workspace=workspace).select_related("actor").order_by("-created_at", "-pk")
    return [
        AuditRead(
            id=r.pk,
            actor=r.actor.get_username() if r.actor else None,
            action=r.action,
            target_type=r.target_type,
            target_id=r.target_id,
            detail=r.detail,
            source=r.source,
            created_at=r.created_at,
        )
        for r in rows[: max(1, min(limit, 1000))]
    ]
