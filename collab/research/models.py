"""The researchers' workbench: codebooks, annotation projects, annotations,
adjudications and model-coder runs. Annotations point at the log by
(session, seq) and, for spans, character offsets in the event's text; the
log itself is never touched."""

import secrets

from django.conf import settings
from django.db import models

from collab.sessions.models import Session


class Codebook(models.Model):
    """A named, versioned set of labels. Each edit bumps `version`; an
    annotation records the version it was made under."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="codebooks", help_text="Empty: shipped with collab")
    key = models.SlugField(max_length=60, blank=True, help_text="Shipped codebooks' stable key")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    source = models.TextField(blank=True, help_text="Where the codes come from (paper, citation)")
    source_url = models.URLField(blank=True)
    multi_label = models.BooleanField(default=False, help_text="Several labels may apply to one event")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def shipped(self) -> bool:
        return self.owner_id is None


class Label(models.Model):
    """A code. Renamed or retired labels keep their row (and id), so old
    annotations stay readable; `former_names` remembers what it was called."""

    codebook = models.ForeignKey(Codebook, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=80)
    definition = models.TextField(blank=True)
    example = models.TextField(blank=True)
    color = models.CharField(max_length=7, default="#4f46e5")
    order = models.PositiveIntegerField(default=0)
    retired = models.BooleanField(default=False)
    former_names = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["codebook", "order", "id"]

    def __str__(self) -> str:
        return self.name


def new_invite_token() -> str:
    return secrets.token_urlsafe(16)


class Project(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotation_projects")
    name = models.CharField(max_length=120)
    codebook = models.ForeignKey(Codebook, on_delete=models.PROTECT, related_name="projects")
    sessions = models.ManyToManyField(Session, related_name="annotation_projects", blank=True)
    instructions = models.TextField(blank=True)
    revealed = models.BooleanField(default=False, help_text="Annotators see each other's labels")
    invite_token = models.CharField(max_length=32, default=new_invite_token, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Coder(models.Model):
    """One annotator in a project: a person, or a model applying the codebook."""

    class Kind(models.TextChoices):
        HUMAN = "human", "Human"
        MODEL = "model", "Model"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="coders")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.HUMAN)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="coder_seats")
    model_name = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="one_coder_per_user",
                                               condition=models.Q(user__isnull=False))]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.user.username if self.user_id else f"model: {self.model_name}"


class Annotation(models.Model):
    """A label on a whole event (start/end null) or on a span [start, end)
    of its text. Undo deletes the row: annotations are not the log."""

    coder = models.ForeignKey(Coder, on_delete=models.CASCADE, related_name="annotations")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="annotations")
    seq = models.PositiveIntegerField()
    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="annotations")
    start = models.PositiveIntegerField(null=True, blank=True)
    end = models.PositiveIntegerField(null=True, blank=True)
    quote = models.TextField(blank=True, help_text="The span's text, kept for reading")
    codebook_version = models.PositiveIntegerField(default=1)
    note = models.TextField(blank=True)
    accepted_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                      help_text="The model suggestion this was accepted from")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "seq", "id"]
        indexes = [models.Index(fields=["coder", "session", "seq"])]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.seq} {self.label_id}"


class Receipt(models.Model):
    """An action from the coding page, by the key the page gave it, with the
    answer it got. The page sends an action again when no answer reached it
    (a socket dropped, a connection lost), not knowing whether it was saved;
    the copy gets this answer instead of being applied twice (a label
    toggled back off, an undo restoring twice). Kept for RECEIPT_DAYS."""

    coder = models.ForeignKey(Coder, on_delete=models.CASCADE, related_name="receipts")
    key = models.CharField(max_length=64)
    result = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["coder", "key"], name="one_receipt_per_action")]

    def __str__(self) -> str:
        return f"{self.coder_id}:{self.key}"


class Reviewed(models.Model):
    """An annotator has looked at this event: with no label it means "none
    applies", which agreement counts; an event never reviewed is missing."""

    coder = models.ForeignKey(Coder, on_delete=models.CASCADE, related_name="reviewed")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveIntegerField()
    note = models.TextField(blank=True)
    suggestion_verdicts = models.JSONField(default=dict, blank=True,
                                           help_text="Model suggestion id → accepted / rejected")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["coder", "session", "seq"], name="reviewed_once")]

    def __str__(self) -> str:
        return f"{self.coder_id} reviewed {self.session_id}#{self.seq}"


class Adjudication(models.Model):
    """The owner's decision on an event: its gold labels in exports."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="adjudications")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveIntegerField()
    labels = models.ManyToManyField(Label, blank=True, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "session", "seq"], name="one_adjudication_per_event")]

    def __str__(self) -> str:
        return f"gold {self.session_id}#{self.seq}"


class CoderRun(models.Model):
    """A model coder's pass over a project's events, run by a Celery job."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    coder = models.ForeignKey(Coder, on_delete=models.CASCADE, related_name="runs")
    provider = models.CharField(max_length=20, default="scripted")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"


class CoderCall(models.Model):
    """Every prompt a model coder sent and the reply it got."""

    run = models.ForeignKey(CoderRun, on_delete=models.CASCADE, related_name="calls")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveIntegerField()
    model = models.CharField(max_length=120)
    messages = models.JSONField(default=list)
    reply = models.TextField(blank=True)
    labels = models.JSONField(default=list)
    latency_ms = models.FloatField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"call {self.pk} on {self.session_id}#{self.seq}"
