"""Admin for brains."""

from django.contrib import admin

from .models import Brain


@admin.register(Brain)
class BrainAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "workspace", "bot_id", "is_default", "created_at")
    list_filter = ("is_default",)
    search_fields = ("name", "slug", "bot_id", "workspace__name")
    readonly_fields = ("bot_id", "created_at")
    list_select_related = ("workspace",)
