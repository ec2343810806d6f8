"""Who may do what in the workbench. Every research view goes through
`allowed`, so the rules live in one place:

- a session's replay and transcript: anyone who may view the session
  (annotators get that through their project's membership);
- a session's export: its owner; imports: any signed-in user (the session is theirs);
- a project: its owner manages it; its human coders annotate their own queue;
- a codebook: shipped ones are readable by all, a user's own by its owner
  and by the coders of projects that use it.
"""

from django.http import Http404

from collab.research.models import Codebook, Coder, Project
from collab.sessions import permissions as session_permissions
from collab.sessions.models import Membership, Session

C = Membership.Capacity
SEE_MODEL_CALLS = {C.OWNER, C.OBSERVER, C.ANNOTATOR}


def coder_for(project: Project, user) -> Coder | None:
    """The user's coder seat in the project, looked up once per project object."""
    if not user.is_authenticated:
        return None
    found = project.__dict__.setdefault("_coders", {})
    if user.pk not in found:
        found[user.pk] = Coder.objects.filter(project=project, user=user, kind=Coder.Kind.HUMAN).first()
    return found[user.pk]


def allowed(user, need: str, obj) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if isinstance(obj, Session):
        capacity = session_permissions.capacity(obj, user)
        return {"view": capacity is not None, "model_calls": capacity in SEE_MODEL_CALLS,
                "export": capacity == C.OWNER}[need]
    if isinstance(obj, Project):
        if obj.owner_id == user.pk:
            return True
        return need in {"view", "annotate"} and coder_for(obj, user) is not None
    if isinstance(obj, Codebook):
        if obj.owner_id == user.pk:
            return True
        if need != "view":
            return False
        return obj.shipped or Coder.objects.filter(project__codebook=obj, user=user).exists()
    raise TypeError(f"no rule for {type(obj).__name__}")


def require(user, need: str, obj) -> None:
    """404 rather than 403: an outsider learns nothing about what exists."""
    if not allowed(user, need, obj):
        raise Http404("Not found")
