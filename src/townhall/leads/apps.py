from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "townhall.leads"
    label = "leads"
    verbose_name = "Leads"
