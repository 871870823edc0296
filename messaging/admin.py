"""Admin for brains, and (read-only) for conversations with their transcripts."""

from django.contrib import admin

from .models import Brain, Conversation, Message


@admin.register(Brain)
class BrainAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "workspace", "bot_id", "is_default", "created_at")
    list_filter = ("is_default",)
    search_fields = ("name", "slug", "bot_id", "workspace__name")
    readonly_fields = ("bot_id", "created_at")
    list_select_related = ("workspace",)


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("position", "role", "content", "created_at")
    readonly_fields = fields
    ordering = ("position",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    """Read-only: conversations are written by the channels (widget, WhatsApp, SMS)."""

    list_display = ("__str__", "channel", "status", "contact", "brain", "workspace", "created_at", "updated_at")
    list_filter = ("channel", "status", "workspace")
    search_fields = ("session_id", "=id", "contact__name", "contact__phone_number", "contact__email")
    list_select_related = ("workspace", "brain", "contact")
    raw_id_fields = ("contact",)
    date_hierarchy = "created_at"
    inlines = (MessageInline,)
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Conversation._meta.concrete_fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
