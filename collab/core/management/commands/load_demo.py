from django.apps import apps
from django.core.management.base import BaseCommand

from collab.core.services import DEMO_PASSWORD, DEMO_USERNAME, demo_user_ensure
from collab.teams.models import Team
from collab.teams.presets import PRESETS
from collab.teams.services import team_create_from_preset


class Command(BaseCommand):
    help = "Create the demo account, its preset teams and a demo course (idempotent)."

    def handle(self, *args, **options):
        user = demo_user_ensure()
        for key in PRESETS:
            if not Team.objects.filter(owner=user, preset=key).exists():
                team_create_from_preset(preset_key=key, owner=user)
        self.stdout.write(f"collab: demo account: username '{DEMO_USERNAME}', password '{DEMO_PASSWORD}'")
        if apps.is_installed("collab.courses"):
            from collab.courses import demo

            demo.load(user)
            self.stdout.write(f"collab: demo course: '{DEMO_USERNAME}' teaches it; students "
                              + ", ".join(f"'{name}'" for name, _, _ in demo.STUDENTS)
                              + f", password '{demo.STUDENT_PASSWORD}'")
