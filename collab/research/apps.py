from django.apps import AppConfig


class ResearchConfig(AppConfig):
    name = "collab.research"
    verbose_name = "Research workbench"
