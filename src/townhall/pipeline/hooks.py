"""Extension points other domains plug their stages into (enrich, listen, route)."""

from __future__ import annotations

from collections.abc import Callable

from townhall.pipeline.records import IncomingItem

BatchHook = Callable[[int, list[IncomingItem]], None]
"""A hook receives the workspace id and the batch's new items (stored items carry `item_id`)."""

# enrich runs before the store (it may fill fields the item row keeps, such as language); after_store,
# listen and route run once items have ids.
HOOK_NAMES = ("enrich", "after_store", "listen", "route")
_hooks: dict[str, list[BatchHook]] = {name: [] for name in HOOK_NAMES}


def register(name: str, hook: BatchHook) -> None:
    """Add a stage to a hook; registering the same function twice keeps one."""
    if name not in _hooks:
        raise ValueError(f"unknown pipeline hook {name!r}; known: {', '.join(HOOK_NAMES)}")
    if hook not in _hooks[name]:
        _hooks[name].append(hook)


def unregister(name: str, hook: BatchHook) -> None:
    if hook in _hooks.get(name, []):
        _hooks[name].remove(hook)


def run(name: str, workspace_id: int, items: list[IncomingItem]) -> None:
    for hook in _hooks[name]:
        hook(workspace_id, items)
