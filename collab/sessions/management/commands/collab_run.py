"""`manage.py collab_run`: a session run headless, and a summary of how it
ended: its end (or pause) reason, whether it completed by its own rules, and
its scenario's scores. Exits 1 unless the session finished."""

import json
import time
from collections import Counter

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum

from collab.core.health import check_redis, count_workers
from collab.core.services import DEMO_USERNAME, demo_user_ensure
from collab.engine import runner
from collab.engine.protocols import PROTOCOLS
from collab.engine.topologies import TOPOLOGIES
from collab.live import bus
from collab.sessions import selectors, services
from collab.sessions.models import Event, LLMCall, Session
from collab.teams.models import Team
from collab.teams.presets import PRESETS
from collab.teams.services import team_create_from_preset


class Command(BaseCommand):
    help = "Run a session headless, through the Celery worker (or --inline), and print a summary."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--team", help="name of an existing team")
        which.add_argument("--preset", help="a preset team, with its protocol and topology")
        parser.add_argument("--protocol", help="who acts next (default: the preset's, else round_robin)")
        parser.add_argument("--protocol-params", default=None, help="JSON object of protocol parameters")
        parser.add_argument("--topology", help="who hears whom (default: the preset's, else everyone)")
        parser.add_argument("--topology-params", default=None, help="JSON object of topology parameters")
        parser.add_argument("--provider", choices=["scripted", "openai"], default=None)
        parser.add_argument("--max-turns", type=int, default=None)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--brief", default=None)
        parser.add_argument("--user", default="demo", help="owner of the session (created if missing)")
        parser.add_argument("--inline", action="store_true", help="run the turns in this process, without Celery")
        parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the end")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args, **opts):
        owner = demo_user_ensure() if opts["user"] == DEMO_USERNAME else self._user(opts["user"])
        preset = None
        if opts["preset"]:
            preset = PRESETS.get(opts["preset"])
            if preset is None:
                raise CommandError(f"unknown preset {opts['preset']!r}; choose one of: {', '.join(sorted(PRESETS))}")
            team = Team.objects.filter(owner=owner, preset=preset.key).first() or team_create_from_preset(
                preset_key=preset.key, owner=owner)
        else:
            team = Team.objects.filter(name=opts["team"]).first()
            if team is None:
                names = ", ".join(Team.objects.order_by("name").values_list("name", flat=True).distinct()) or "none"
                raise CommandError(f"unknown team {opts['team']!r}; teams: {names}")
        protocol = opts["protocol"] or (preset.protocol if preset else "round_robin")
        topology = opts["topology"] or (preset.topology if preset else "everyone")
        if protocol not in PROTOCOLS.items:
            raise CommandError(f"unknown protocol {protocol!r}; choose one of: {', '.join(PROTOCOLS.names())}")
        if topology not in TOPOLOGIES.items:
            raise CommandError(f"unknown topology {topology!r}; choose one of: {', '.join(TOPOLOGIES.names())}")
        protocol_params = self._json(opts["protocol_params"], "--protocol-params")
        if protocol_params is None:
            protocol_params = preset.protocol_params if preset and protocol == preset.protocol else {}
        topology_params = self._json(opts["topology_params"], "--topology-params")
        if topology_params is None:
            topology_params = preset.topology_params if preset and topology == preset.topology else {}
        if not opts["inline"] and not count_workers(timeout=1.0)["count"]:
            raise CommandError("no Celery worker answers; start one (make run) or pass --inline")
        try:
            session = services.session_create(
                owner=owner, team=team, brief=opts["brief"] if opts["brief"] is not None else (preset.brief if preset else ""),
                protocol=protocol, protocol_params=protocol_params, topology=topology, topology_params=topology_params,
                provider=opts["provider"], max_turns=opts["max_turns"] or (preset.max_turns if preset else 12),
                seed=opts["seed"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        started = time.monotonic()
        if opts["inline"]:
            redis = check_redis(settings.CHANNEL_REDIS_URL)
            if not redis["ok"]:
                # An inline run needs no broadcast: say so once instead of a warning per event.
                self.stderr.write(f"collab: no Redis ({redis['error']}): pages open on this session will not "
                                  "update live during the run; reload them to see it.")
                bus.mute()
            with runner.inline():
                services.session_start(session=session, user=owner)
                session = runner.run_inline(session.pk)
        else:
            services.session_start(session=session, user=owner)
            session = self._wait(session.pk, opts["timeout"])
        summary = self._summary(session, time.monotonic() - started)
        if opts["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
        else:
            self.stdout.write(self._text(summary))
        if session.status != Session.Status.FINISHED:
            raise SystemExit(1)

    def _user(self, username: str) -> User:
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()  # made to own headless runs; logs in only once someone sets a password
            user.save(update_fields=["password"])
        return user

    def _json(self, raw, flag):
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{flag} is not valid JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise CommandError(f"{flag} must be a JSON object")
        return value

    def _wait(self, session_id, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            session = Session.objects.get(pk=session_id)
            if session.status in {Session.Status.FINISHED, Session.Status.FAILED, Session.Status.PAUSED,
                                  Session.Status.AWAITING_HUMAN}:
                return session
            time.sleep(0.2)
        raise CommandError(f"session {session_id} did not end within {timeout:.0f} s")

    def _summary(self, session, seconds):
        events = Event.objects.filter(session=session)
        messages = Counter(events.filter(kind="message").values_list("actor", flat=True))
        calls = LLMCall.objects.filter(session=session)
        latency = sorted(calls.values_list("latency_ms", flat=True))
        outcome = selectors.run_outcome(session)
        scenario = selectors.latest_scenario_state(session) if session.scenario else None
        return {
            "id": session.pk, "title": session.title, "status": session.status, "end_reason": session.end_reason,
            "reason": selectors.status_reason(session), "ended_by": outcome["ended_by"],
            "completed_by_rules": outcome["completed_by_rules"],
            "scenario": None if not session.scenario else {
                "name": session.scenario, "round": (scenario or {}).get("round"),
                "scores": (scenario or {}).get("metrics", {}), "scores_provisional": outcome["provisional"],
            },
            "protocol": session.protocol, "topology": session.topology, "provider": session.provider,
            "turns": session.next_turn, "events": events.count(), "messages_per_role": dict(messages),
            "tokens": session.tokens_used, "tokens_estimated": session.tokens_estimated,
            "agent_replies": session.agent_replies, "defaulted_replies": session.defaulted_replies,
            "scores_unreliable": session.scores_unreliable, "llm_calls": calls.count(),
            "latency_ms_median": round(latency[len(latency) // 2], 1) if latency else None,
            "latency_ms_total": round(calls.aggregate(t=Sum("latency_ms"))["t"] or 0, 1),
            "wall_seconds": round(seconds, 2),
        }

    def _text(self, s):
        per_role = ", ".join(f"{k} {v}" for k, v in s["messages_per_role"].items()) or "none"
        lines = [f"session {s['id']} {s['status']}: {s['reason'] or 'no reason given'}",
                 f"  {s['protocol']} / {s['topology']} on {s['provider']} agents, {s['turns']} turns, "
                 f"{s['events']} events",
                 f"  messages: {per_role}",
                 f"  tokens {s['tokens']}{' (estimated)' if s['tokens_estimated'] else ''}, {s['llm_calls']} model calls, median latency {s['latency_ms_median']} ms, "
                 f"wall {s['wall_seconds']} s"]
        if s["scenario"]:
            figures = ", ".join(f"{k.replace('_', ' ')} {_figure(v)}" for k, v in s["scenario"]["scores"].items()
                                if isinstance(v, int | float | bool)) or "none yet"
            note = " (provisional: the run did not complete by the scenario's rules)" if (
                s["scenario"]["scores_provisional"]) else ""
            lines.append(f"  {s['scenario']['name']} scores{note}: {figures}")
        if s["status"] == Session.Status.PAUSED:
            lines.append(f"  resume it on its page (/sessions/{s['id']}/) once the cause is fixed")
        return "\n".join(lines)


def _figure(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.3g}" if isinstance(value, float) else str(value)
