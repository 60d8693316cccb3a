from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "townhall.inbox"
    label = "inbox"
    verbose_name = "Inbox"

    def ready(self) -> None:
        from townhall.inbox import stage
        from townhall.pipeline import hooks

        hooks.register("route", stage.route_batch)
