import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from collab.llm.base import RESERVED_ENV
from collab.llm.base_url import server_url_problem

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def validate_env_name(value: str) -> None:
    if value and not ENV_NAME.match(value):
        raise ValidationError("Give the NAME of an environment variable (like OPENAI_API_KEY), never the key itself.")
    if value in RESERVED_ENV:
        raise ValidationError(f"{value} holds one of collab's own settings, not a model key: name another variable.")


def validate_server_url(value: str) -> None:
    problem = server_url_problem(value) if value else None
    if problem:
        raise ValidationError(problem[0].upper() + problem[1:] + ".", code="invalid_url")


class ModelProfileQuerySet(models.QuerySet):
    def usable_by(self, user) -> "ModelProfileQuerySet":
        """The profiles `user` may see and attach: their own and the published ones."""
        if getattr(user, "is_staff", False):
            return self
        return self.filter(models.Q(owner=user) | models.Q(published=True)) if user.is_authenticated \
            else self.filter(published=True)


class ModelProfile(models.Model):
    """How a role reaches a model. Holds the name of the environment variable
    with the key, never the key: keys stay out of the database and pages.
    A profile belongs to its owner; staff may publish one for everybody."""

    class Provider(models.TextChoices):
        SCRIPTED = "scripted", "Offline scripted agent"
        OPENAI = "openai", "OpenAI-compatible server"

    class Structured(models.TextChoices):
        JSON_SCHEMA = "json_schema", "JSON schema (OpenAI, vLLM, Ollama, LM Studio)"
        JSON_OBJECT = "json_object", "JSON object with schema (llama.cpp)"
        PROMPT_ONLY = "prompt_only", "Schema in the prompt only"

    name = models.CharField(max_length=80)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="model_profiles", help_text="Empty: the operator's (demo data)")
    published = models.BooleanField(default=False, help_text="Shared with every user (staff only)")
    provider = models.CharField(max_length=20, choices=Provider.choices, default=Provider.SCRIPTED)
    base_url = models.CharField(max_length=300, blank=True, validators=[validate_server_url],
                                help_text="Empty: OPENAI_BASE_URL, else api.openai.com")
    model = models.CharField(max_length=120, blank=True, help_text="Model name sent to the server")
    api_key_env = models.CharField(
        max_length=80, blank=True, default="OPENAI_API_KEY", validators=[validate_env_name],
        help_text="Name of the environment variable holding the API key",
    )
    temperature = models.FloatField(default=0.7)
    max_tokens = models.PositiveIntegerField(default=512)
    timeout_seconds = models.FloatField(default=60)
    context_window = models.PositiveIntegerField(
        default=0, help_text="The server's context in tokens; 0: COLLAB_LLM_CONTEXT_WINDOW")
    max_concurrency = models.PositiveIntegerField(
        default=0, help_text="Requests the server takes at once; 0: no limit (COLLAB_LLM_MAX_CONCURRENCY for "
                             "the configured server)")
    structured = models.CharField(max_length=20, choices=Structured.choices, default=Structured.JSON_SCHEMA,
                                  help_text="How a reply's JSON schema reaches the server")
    cost_per_1k_prompt = models.DecimalField(max_digits=10, decimal_places=6, default=0)
    cost_per_1k_completion = models.DecimalField(max_digits=10, decimal_places=6, default=0)

    objects = ModelProfileQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="model_profile_name_per_owner")]

    def __str__(self) -> str:
        return self.name

    def snapshot(self) -> dict:
        return {
            "id": self.pk,  # resume re-reads the profile by it
            "name": self.name,
            "provider": self.provider,
            "base_url": self.base_url,
            "model": self.model,
            "api_key_env": self.api_key_env,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "timeout_seconds": self.timeout_seconds,
            "context_window": self.context_window,
            "max_concurrency": self.max_concurrency,
            "structured": self.structured,
            "cost_per_1k_prompt": float(self.cost_per_1k_prompt),
            "cost_per_1k_completion": float(self.cost_per_1k_completion),
        }


class Team(models.Model):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="teams")
    preset = models.CharField(max_length=60, blank=True, help_text="Preset this team was made from")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="team_name_per_owner")]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="roles")
    order = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=60)
    persona = models.TextField(blank=True, help_text="System prompt: who this role is")
    goals = models.TextField(blank=True)
    expertise = models.CharField(max_length=200, blank=True)
    traits = models.JSONField(default=list, blank=True)
    color = models.CharField(max_length=7, default="#4f46e5")
    avatar = models.CharField(max_length=8, blank=True, help_text="An emoji or up to two letters")
    model_profile = models.ForeignKey(ModelProfile, null=True, blank=True, on_delete=models.SET_NULL)
    temperature = models.FloatField(null=True, blank=True, help_text="Empty: the model profile's")
    strength = models.PositiveSmallIntegerField(default=1, help_text="Relay order: strongest leads first")

    class Meta:
        ordering = ["team", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="role_name_per_team")]

    def __str__(self) -> str:
        return f"{self.name} ({self.team.name})"

    def snapshot(self) -> dict:
        profile = self.model_profile.snapshot() if self.model_profile else None
        return {
            "name": self.name,
            "persona": self.persona,
            "goals": self.goals,
            "expertise": self.expertise,
            "traits": list(self.traits or []),
            "color": self.color,
            "avatar": self.avatar or self.name[:2].upper(),
            "temperature": self.temperature if self.temperature is not None else (profile or {}).get("temperature", 0.7),
            "strength": self.strength,
            "model_profile": profile,
        }
