"""Workspaces, memberships, API tokens and the audit trail: the reads and writes, no HTTP."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from townhall.core.errors import Conflict, Forbidden, Invalid, NotFound
from townhall.workspaces.models import ApiToken, AuditLog, Membership, Role, Workspace
from townhall.workspaces.permissions import role_allows

User = get_user_model()
AnyUser = AbstractBaseUser | AnonymousUser
TOKEN_PREFIX = "th_"


_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,64}")


def check_slug(slug: str) -> str:
    cleaned = slugify(slug)
    if not cleaned or cleaned != slug:
        raise Invalid(f"workspace slug {slug!r} must be lowercase letters, digits and hyphens", field="slug")
    return cleaned


def get_workspace(*, slug: str) -> Workspace:
    try:
        return Workspace.objects.get(slug=slug)
    except Workspace.DoesNotExist:
        raise NotFound(f"workspace {slug!r} does not exist") from None


def check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(
            f"{name!r} is not a time zone name like 'Europe/Paris' or 'UTC'", field="timezone"
        ) from None


def zone_of(*, workspace: Workspace) -> ZoneInfo:
    """The workspace's time zone, for days and times shown to its members (UTC when the name is unknown)."""
    try:
        return ZoneInfo(workspace.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def do_create_workspace(
    *, slug: str, name: str = "", owner: Any = None, timezone_name: str = "UTC"
) -> Workspace:
    """Create a workspace; its creator (when given) becomes its owner."""
    check_slug(slug)
    check_timezone(timezone_name)
    with transaction.atomic():
        if Workspace.objects.filter(slug=slug).exists():
            raise Conflict(f"workspace {slug!r} already exists", field="slug")
        workspace = Workspace.objects.create(slug=slug, name=name or slug, timezone=timezone_name)
        if owner is not None:
            Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    return workspace


def get_or_create_workspace(*, slug: str, name: str = "") -> tuple[Workspace, bool]:
    check_slug(slug)
    workspace, created = Workspace.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    return workspace, created


def role_of(*, user: AnyUser, workspace: Workspace) -> str | None:
    if not user.is_authenticated:
        return None
    cache: dict[int, str | None] = getattr(user, "_townhall_roles", {})
    if workspace.pk not in cache:
        membership = Membership.objects.filter(workspace=workspace, user_id=user.pk).first()
        cache[workspace.pk] = membership.role if membership else None
        setattr(user, "_townhall_roles", cache)  # noqa: B010 -- a per-request cache on the user object
    return cache[workspace.pk]


def access_workspace(*, user: AnyUser, slug: str, permission: str = "workspace.view") -> Workspace:
    """The only way request code obtains a workspace: it exists, the user belongs to it, the role allows it.

    Someone outside the workspace learns nothing about it, not even that it exists.
    """
    if not _SLUG.fullmatch(slug):
        # No workspace has such a slug; answering now also keeps text PostgreSQL refuses (NUL) out of SQL.
        raise NotFound(f"workspace {slug!r} does not exist")
    try:
        workspace = Workspace.objects.get(slug=slug)
    except Workspace.DoesNotExist:
        raise NotFound(f"workspace {slug!r} does not exist") from None
    role = role_of(user=user, workspace=workspace)
    if role is None:
        raise NotFound(f"workspace {slug!r} does not exist")
    if not role_allows(role, permission):
        raise Forbidden(f"your role in {slug!r} ({role}) does not allow {permission}")
    return workspace


def can(*, user: AnyUser, workspace: Workspace, permission: str) -> bool:
    role = role_of(user=user, workspace=workspace)
    return role is not None and role_allows(role, permission)


def workspaces_of(*, user: AnyUser) -> list[Workspace]:
    if not user.is_authenticated:
        return []
    return list(Workspace.objects.filter(memberships__user_id=user.pk).order_by("name"))


def check_membership_change(*, actor: AnyUser, workspace: Workspace, user: Any, role: str) -> None:
    """Only an owner makes owners or changes an owner's role, and a workspace keeps at least one owner.

    Without this an admin (who may manage members) could promote themselves or demote the owner.
    """
    current = (
        Membership.objects.filter(workspace=workspace, user_id=user.pk).values_list("role", flat=True).first()
    )
    if Role.OWNER in (role, current) and role_of(user=actor, workspace=workspace) != Role.OWNER:
        raise Forbidden("only an owner can make owners or change an owner's role", field="role")
    if current == Role.OWNER and role != Role.OWNER:
        owners = Membership.objects.filter(workspace=workspace, role=Role.OWNER)
        if not owners.exclude(user_id=user.pk).exists():
            raise Conflict(
                "the workspace must keep at least one owner; make someone else owner first", field="role"
            )


def do_set_membership(*, workspace: Workspace, user: Any, role: str) -> Membership:
    if role not in Role.values:
        raise Invalid(f"role must be one of {', '.join(Role.values)}, got {role!r}", field="role")
    membership, _ = Membership.objects.update_or_create(
        workspace=workspace, user=user, defaults={"role": role}
    )
    return membership


def do_create_user(*, username: str, password: str, email: str = "", superuser: bool = False) -> Any:
    if User.objects.filter(username=username).exists():
        raise Conflict(f"user {username!r} already exists", field="username")
    if superuser:
        return User.objects.create_superuser(username=username, email=email, password=password)
    return User.objects.create_user(username=username, email=email, password=password)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def do_create_token(*, user: Any, name: str) -> tuple[ApiToken, str]:
    """Create an API token; the clear token is returned once and only its digest is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken.objects.create(user=user, name=name, prefix=token[:10], digest=_digest(token))
    return record, token


def authenticate_token(token: str) -> Any | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    record = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if record is None:
        return None
    now = timezone.now()
    if record.last_used_at is None or (now - record.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record.user


def do_revoke_token(*, user: Any, token_id: int) -> None:
    updated = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not updated:
        raise NotFound(f"token {token_id} does not exist or is already revoked")


def record_audit(
    *,
    actor: Any,
    action: str,
    target: Any = None,
    workspace: Workspace | None = None,
    detail: dict[str, Any] | None = None,
    source: str = "api",
    ip_address: str | None = None,
) -> AuditLog:
    """Write one audit row; called by every write that comes through the API, UI or CLI."""
    return AuditLog.objects.create(
        workspace=workspace,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=str(getattr(target, "pk", "") or ""),
        detail=detail or {},
        source=source,
        ip_address=ip_address,
    )
