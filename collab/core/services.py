"""Writes that belong to no app of their own: the demo account."""

from django.contrib.auth.models import User

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "collab-demo"


def demo_user_ensure() -> User:
    """The demo account, with the password the README and `make run` print,
    whichever command creates it first. A demo account without a usable
    password (made by an older `collab_run`) gets it; a password someone set
    on purpose is kept."""
    user, created = User.objects.get_or_create(username=DEMO_USERNAME, defaults={"first_name": "Demo"})
    if created or not user.password or not user.has_usable_password():
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user
