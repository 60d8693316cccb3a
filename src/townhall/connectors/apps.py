from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "townhall.connectors"
    label = "connectors"
