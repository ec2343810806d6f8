from django.contrib import admin

from collab.sessions.models import Event, LLMCall, Membership, Seat, Session


class SeatInline(admin.TabularInline):
    model = Seat
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "owner", "protocol", "topology", "scenario", "status", "last_seq", "created_at"]
    list_filter = ["status", "protocol", "topology", "provider"]
    search_fields = ["title", "brief"]
    readonly_fields = ["last_seq", "next_turn", "lease_token", "lease_expires_at", "turn_attempts", "team_snapshot"]
    inlines = [SeatInline, MembershipInline]


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    list_display = ["session", "role_name", "holder", "user", "timeout_seconds"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["session", "user", "capacity"]
    list_filter = ["capacity"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """The log is append-only: the admin shows it and never edits it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["session", "seq", "kind", "actor", "turn_index", "created_at"]
    list_filter = ["kind"]


@admin.register(LLMCall)
class LLMCallAdmin(ReadOnlyAdmin):
    list_display = ["session", "turn_index", "actor", "provider", "model", "prompt_tokens", "completion_tokens", "latency_ms"]
    list_filter = ["provider", "model"]
