from django.core.management.base import BaseCommand, CommandError

from collab.research import selectors
from collab.sessions.models import Session


class Command(BaseCommand):
    help = "Write sessions' transcripts (schema collab.transcript v1) as JSONL or CSV to stdout or a file."

    def add_arguments(self, parser):
        parser.add_argument("session_ids", nargs="+", type=int, metavar="SESSION_ID")
        parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
        parser.add_argument("--annotations", action="store_true",
                            help="add every project's annotations and adjudicated (gold) labels")
        parser.add_argument("--output", "-o", help="file to write (default: stdout)")

    def handle(self, *args, session_ids, format, annotations, output, **opts):
        sessions = {s.pk: s for s in Session.objects.filter(pk__in=session_ids)}
        missing = [str(i) for i in session_ids if i not in sessions]
        if missing:
            raise CommandError(f"no session {', '.join(missing)}")
        out = open(output, "w", encoding="utf-8", newline="") if output else None
        write = out.write if out else lambda chunk: self.stdout.write(chunk, ending="")
        try:
            for chunk in selectors.export_sessions([sessions[pk] for pk in session_ids], format=format,
                                                   annotations=annotations):
                write(chunk)
        finally:
            if out:
                out.close()
