from django.contrib import admin

from collab.teams.models import ModelProfile, Role, Team


class RoleInline(admin.TabularInline):
    model = Role
    extra = 0
    fields = ["order", "name", "expertise", "color", "avatar", "model_profile", "temperature", "strength"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "preset", "updated_at"]
    search_fields = ["name", "description"]
    inlines = [RoleInline]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "order", "model_profile"]
    list_filter = ["team"]


@admin.register(ModelProfile)
class ModelProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "model", "base_url", "api_key_env"]
