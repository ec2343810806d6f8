from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from collab.research import services
from collab.research.exchange import ImportRefused


class Command(BaseCommand):
    help = "Import a collab.transcript JSONL file as a finished, read-only session."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--user", default="demo", help="owner of the imported session (created if missing)")

    def handle(self, *args, file, user, **opts):
        owner, _ = User.objects.get_or_create(username=user)
        try:
            with open(file, "rb") as stream:
                session = services.transcript_import(owner=owner, stream=stream)
        except OSError as exc:
            raise CommandError(str(exc)) from None
        except ImportRefused as exc:
            raise CommandError(f"not imported: {exc}") from None
        self.stdout.write(f"imported session {session.pk}: {session.title} ({session.last_seq} events)")
