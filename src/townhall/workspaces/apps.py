from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "townhall.workspaces"
    label = "workspaces"
