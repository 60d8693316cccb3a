from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "townhall.publishing"
    label = "publishing"
    verbose_name = "Publishing"
