from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "townhall.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
