"""What each workspace role may do: the one table every access check reads."""

from __future__ import annotations

from townhall.workspaces.models import Role

_ALL = frozenset(Role)
_STAFF = frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER, Role.AGENT, Role.ANALYST})
_WRITERS = frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER, Role.AGENT})
_MANAGERS = frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER})
_ADMINS = frozenset({Role.OWNER, Role.ADMIN})

PERMISSIONS: dict[str, frozenset[Role]] = {
    "workspace.view": _ALL,
    "workspace.manage": _ADMINS,
    "members.manage": _ADMINS,
    "audit.view": _ADMINS,
    "channels.view": _STAFF,
    "channels.manage": _MANAGERS,
    "items.view": _STAFF,
    "items.write": _WRITERS,
    "people.view": _STAFF,
    "people.write": _WRITERS,
    "imports.view": _STAFF,
    "imports.run": _MANAGERS,
    "understanding.train": _MANAGERS,
    "inbox.view": _STAFF,
    "inbox.write": _WRITERS,
    "inbox.manage": _MANAGERS,
    "listening.view": _STAFF,
    "listening.manage": _MANAGERS,
    "webhooks.manage": _ADMINS,
    # Writers compose and submit; reviewers named by an approval policy approve; managers run the schedule.
    "publishing.view": _STAFF,
    "publishing.write": _WRITERS,
    "publishing.manage": _MANAGERS,
}


def role_allows(role: str, permission: str) -> bool:
    """True when members with `role` hold `permission`; an unknown permission is never granted."""
    allowed = PERMISSIONS.get(permission)
    return allowed is not None and role in allowed
