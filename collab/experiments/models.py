from django.conf import settings
from django.db import models


class Experiment(models.Model):
    """A grid of conditions x seeds x repetitions, run as sessions through the engine."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        CANCELLED = "cancelled", "Cancelled"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="experiments")
    title = models.CharField(max_length=200)
    spec = models.JSONField(help_text="The checked definition, conditions expanded")
    source = models.TextField(blank=True, help_text="The definition as written (YAML or JSON)")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # Filled at start: collab version, commit, conditions with models and parameters, seeds.
    manifest = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"experiment {self.pk} {self.title}"


class Run(models.Model):
    """One cell: a condition, a seed and a repetition, and the session that ran it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETE = "complete", "Complete"
        INCOMPLETE = "incomplete", "Cut short"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="runs")
    condition_index = models.PositiveIntegerField()
    seed = models.BigIntegerField()
    repetition = models.PositiveIntegerField(default=1)
    attempt = models.PositiveIntegerField(default=1)
    session = models.ForeignKey("collab_sessions.Session", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="experiment_runs")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    reason = models.CharField(max_length=300, blank=True)
    ended_by = models.CharField(max_length=40, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    wall_seconds = models.FloatField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["experiment", "condition_index", "seed", "repetition"]
        constraints = [models.UniqueConstraint(fields=["experiment", "condition_index", "seed", "repetition"],
                                               name="one_run_per_cell")]

    def __str__(self) -> str:
        return f"run {self.condition_index}/{self.seed}/{self.repetition} of {self.experiment_id}"

    @property
    def done(self) -> bool:
        return self.status not in {self.Status.PENDING, self.Status.RUNNING}
