from django.apps import AppConfig


class ItemsConfig(AppConfig):
    name = "townhall.items"
    label = "items"
