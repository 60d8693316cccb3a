from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "townhall.people"
    label = "people"
