from django.apps import AppConfig


class EnrichConfig(AppConfig):
    name = "townhall.enrich"
    label = "enrich"
    verbose_name = "Understanding"

    def ready(self) -> None:
        from townhall.enrich import stage
        from townhall.pipeline import hooks

        hooks.register("enrich", stage.enrich_batch)
        hooks.register("after_store", stage.persist_batch)
