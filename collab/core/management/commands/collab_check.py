from django.conf import settings
from django.core.management.base import BaseCommand

from collab.core import health
from collab.llm import server


class Command(BaseCommand):
    help = ("Check that the database, Redis and the configured model server answer; one clear line per "
            "problem. A model server that is down is a warning; a setting no retry can fix stops the start.")

    def handle(self, *args, **options):
        db = health.check_database()
        if not db["ok"]:
            self.stderr.write(f"collab: DATABASE_URL: cannot reach the database ({db['error']})")
            raise SystemExit(2)
        redis_check = health.check_redis(settings.CHANNEL_REDIS_URL)
        if not redis_check["ok"]:
            self.stderr.write(f"collab: REDIS_URL: cannot reach Redis at {settings.REDIS_URL} ({redis_check['error']})")
            raise SystemExit(2)
        provider = "offline scripted agents"
        if settings.LLM_CONFIGURED:
            try:
                model = server.default_model()
            except server.ModelConfigError as exc:
                self.stderr.write(f"collab: configuration error: {exc}")
                raise SystemExit(2) from None
            target = server.Target(settings.OPENAI_BASE_URL, model, settings.OPENAI_API_KEY)
            for problem in server.check(target):
                self.stderr.write(f"collab: warning: model server: {problem}")
            provider = f"the OpenAI-compatible server at {target.shown_url} (model {model})"
        self.stdout.write(f"collab: database ({db['vendor']}) and Redis ok; new sessions default to {provider}")
