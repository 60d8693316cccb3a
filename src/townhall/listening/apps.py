from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "townhall.listening"
    label = "listening"
    verbose_name = "Listening"

    def ready(self) -> None:
        from townhall.listening import stage
        from townhall.pipeline import hooks

        hooks.register("listen", stage.listen_batch)
