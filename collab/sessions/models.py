import secrets

from django.conf import settings
from django.db import models


def new_share_token() -> str:
    return secrets.token_urlsafe(16)


class Session(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        AWAITING_HUMAN = "awaiting_human", "Awaiting a human"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private"
        COURSE = "course", "Shared with a course"
        PUBLIC = "public", "Public by link"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_sessions")
    title = models.CharField(max_length=200)
    brief = models.TextField(blank=True, help_text="The task the team works on")
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions")
    # Frozen at start: later edits to the team never change a past transcript.
    team_snapshot = models.JSONField(default=dict, blank=True)
    protocol = models.CharField(max_length=40, default="round_robin")
    protocol_params = models.JSONField(default=dict, blank=True)
    topology = models.CharField(max_length=40, default="everyone")
    topology_params = models.JSONField(default=dict, blank=True)
    scenario = models.CharField(max_length=40, blank=True)
    scenario_params = models.JSONField(default=dict, blank=True)
    provider = models.CharField(max_length=20, default="scripted", help_text="scripted or openai")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    end_reason = models.CharField(max_length=200, blank=True)
    seed = models.BigIntegerField(default=0)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    share_token = models.CharField(max_length=32, default=new_share_token, unique=True)
    max_turns = models.PositiveIntegerField(default=12)
    token_budget = models.PositiveIntegerField(null=True, blank=True)
    cost_budget = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)

    # Engine bookkeeping. The log is the truth; these are its running totals.
    last_seq = models.PositiveIntegerField(default=0)
    next_turn = models.PositiveIntegerField(default=0)
    step_budget = models.IntegerField(default=-1, help_text="-1: run freely; n >= 0: turns left before pausing")
    lease_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    turn_attempts = models.PositiveSmallIntegerField(default=0)
    tokens_used = models.PositiveIntegerField(default=0)
    tokens_estimated = models.BooleanField(default=False, help_text="Some token counts are estimates: a server "
                                                                    "sent no usage")
    agent_replies = models.PositiveIntegerField(default=0, help_text="Replies the agents' models gave")
    defaulted_replies = models.PositiveIntegerField(
        default=0, help_text="Replies replaced by a default (unusable twice, or '(no reply)')")
    cost_used = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    state = models.JSONField(default=dict, blank=True, help_text="Engine state derived from the log (plan, scenario)")
    # A fork starts from a copy of its origin's log up to forked_at_seq.
    forked_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks")
    forked_at_seq = models.PositiveIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "lease_expires_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_live(self) -> bool:
        return self.status in {self.Status.RUNNING, self.Status.PAUSED, self.Status.AWAITING_HUMAN}

    @property
    def defaulted_share(self) -> float:
        return self.defaulted_replies / self.agent_replies if self.agent_replies else 0.0

    @property
    def scores_unreliable(self) -> bool:
        """More of the replies were defaulted than COLLAB_DEFAULTED_SHARE allows."""
        from django.conf import settings

        return self.defaulted_share > settings.DEFAULTED_SHARE_LIMIT

    @property
    def is_over(self) -> bool:
        return self.status in {self.Status.FINISHED, self.Status.FAILED}

    def role_names(self) -> list[str]:
        return [r["name"] for r in self.team_snapshot.get("roles", [])]


class Seat(models.Model):
    class Holder(models.TextChoices):
        AGENT = "agent", "Agent"
        HUMAN = "human", "Human"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="seats")
    role_name = models.CharField(max_length=60)
    holder = models.CharField(max_length=10, choices=Holder.choices, default=Holder.AGENT)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    timeout_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Agent answers after this long")
    taken_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "id"]
        constraints = [models.UniqueConstraint(fields=["session", "role_name"], name="one_seat_per_role")]

    def __str__(self) -> str:
        return f"{self.role_name} in {self.session_id} ({self.holder})"


class Membership(models.Model):
    class Capacity(models.TextChoices):
        OWNER = "owner", "Owner"
        PARTICIPANT = "participant", "Participant"
        OBSERVER = "observer", "Observer"
        ANNOTATOR = "annotator", "Annotator"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_memberships")
    capacity = models.CharField(max_length=12, choices=Capacity.choices, default=Capacity.OBSERVER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} {self.capacity} of {self.session_id}"


class AppendOnlyError(Exception):
    pass


class Event(models.Model):
    """One entry of a session's append-only log. Written only through
    collab.sessions.events.append(); never updated or deleted in place."""

    class Kind(models.TextChoices):
        MESSAGE = "message", "Message"
        PLAN = "plan", "Plan update"
        ACTION = "action", "Scenario action"
        SCENARIO_STATE = "scenario_state", "Scenario state and scores"
        VOTE = "vote", "Vote"
        TALLY = "tally", "Vote tally"
        INTERVENTION = "intervention", "Intervention"
        TURN_ERROR = "turn_error", "Turn error or retry"
        NOTICE = "notice", "Engine notice"
        OBSERVATION = "observation", "Private observation"
        STATE = "state", "Session state change"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.CharField(max_length=80, help_text="Role name, user:<username>, or system")
    audience = models.JSONField(null=True, blank=True, help_text="Null: everyone; else the role names that hear it")
    payload = models.JSONField(default=dict)
    turn_index = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "seq"]
        constraints = [models.UniqueConstraint(fields=["session", "seq"], name="event_seq_unique")]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.seq} {self.kind} {self.actor}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("events are append-only; record a correction as a new event")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("events are append-only")


class TurnSnapshot(models.Model):
    """The engine state right after a committed turn, with the seq range of
    the turn's events and the running totals: a cache derived from the log,
    written in the turn's own transaction, so a fork can start from any turn.
    The state is stored whole (`state`) or as its delta from the turn before
    (`delta`); collab.sessions.snapshots writes and reads them."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="turn_snapshots")
    turn_index = models.IntegerField()
    first_seq = models.PositiveIntegerField()
    last_seq = models.PositiveIntegerField()
    state = models.JSONField(null=True, blank=True, help_text="The whole state, or null when `delta` holds it")
    delta = models.JSONField(null=True, blank=True, help_text="The change from the turn before's state")
    tokens_used = models.PositiveIntegerField(default=0)
    cost_used = models.DecimalField(max_digits=12, decimal_places=6, default=0)

    class Meta:
        ordering = ["session", "turn_index"]
        constraints = [models.UniqueConstraint(fields=["session", "turn_index"], name="one_snapshot_per_turn")]

    def __str__(self) -> str:
        return f"{self.session_id} after turn {self.turn_index}"


class LLMCall(models.Model):
    """Every prompt sent to a model, so any session can be audited and re-run."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="llm_calls")
    turn_index = models.IntegerField()
    actor = models.CharField(max_length=80)
    purpose = models.CharField(max_length=40, default="message")
    provider = models.CharField(max_length=20)
    model = models.CharField(max_length=120, help_text="The model the server says answered")
    requested_model = models.CharField(max_length=120, blank=True, help_text="The model asked for, when different")
    base_url = models.CharField(max_length=300, blank=True)
    params = models.JSONField(default=dict)
    messages = models.JSONField(default=list)
    response = models.TextField(blank=True)
    response_cut_from = models.PositiveIntegerField(
        null=True, blank=True, help_text="The reply's length in characters when the stored response was cut")
    finish_reason = models.CharField(max_length=20, blank=True, help_text="stop, length (cut at max_tokens), ...")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    usage_estimated = models.BooleanField(default=False)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    latency_ms = models.FloatField(default=0)
    first_token_ms = models.FloatField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "turn_index", "id"]

    def __str__(self) -> str:
        return f"{self.session_id} turn {self.turn_index} {self.actor} {self.model}"
