from django.conf import settings
from django.core.management.base import BaseCommand

from collab.core import health


class Command(BaseCommand):
    help = "Check that the database and Redis named by the settings answer; one clear line when not."

    def handle(self, *args, **options):
        db = health.check_database()
        if not db["ok"]:
            self.stderr.write(f"collab: DATABASE_URL: cannot reach the database ({db['error']})")
            raise SystemExit(2)
        redis_check = health.check_redis(settings.CHANNEL_REDIS_URL)
        if not redis_check["ok"]:
            self.stderr.write(f"collab: REDIS_URL: cannot reach Redis at {settings.REDIS_URL} ({redis_check['error']})")
            raise SystemExit(2)
        provider = "OpenAI-compatible server" if settings.LLM_CONFIGURED else "offline scripted agents"
        self.stdout.write(f"collab: database ({db['vendor']}) and Redis ok; new sessions default to {provider}")
