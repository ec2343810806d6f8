from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from collab.research import services
from collab.research.exchange import ImportRefused


class Command(BaseCommand):
    help = "Import a collab.transcript JSONL file (one or more sessions) as finished, read-only sessions."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--user", default="demo", help="owner of the imported session (created if missing)")

    def handle(self, *args, file, user, **opts):
        owner, _ = User.objects.get_or_create(username=user)
        try:
            with open(file, "rb") as stream:
                sessions = services.transcript_import(owner=owner, stream=stream)
        except OSError as exc:
            raise CommandError(str(exc)) from None
        except ImportRefused as exc:
            raise CommandError(f"not imported: {exc}") from None
        for session in sessions:
            self.stdout.write(f"imported session {session.pk}: {session.title} ({session.last_seq} events)")
