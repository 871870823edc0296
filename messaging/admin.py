"""Admin for brains and their knowledge, the provider side of lines (secrets never shown back),
the consent ledger, and (read-only) conversations with their transcripts."""

from django.contrib import admin
from django.db import models

from .models import Brain, ConsentChange, Conversation, KnowledgeDocument, LineProvider, Message


@admin.register(Brain)
class BrainAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "workspace", "bot_id", "is_default", "created_at")
    list_filter = ("is_default",)
    search_fields = ("name", "slug", "bot_id", "workspace__name")
    readonly_fields = ("bot_id", "created_at")
    list_select_related = ("workspace",)
    # booking_url without a scheme is https (Django 6's default; 5.2 warns on every page).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(KnowledgeDocument)
class KnowledgeDocumentAdmin(admin.ModelAdmin):
    list_display = ("title", "brain", "workspace", "updated_at")
    search_fields = ("title", "brain__slug", "workspace__name")
    list_select_related = ("brain", "workspace")
    raw_id_fields = ("brain",)


@admin.register(LineProvider)
class LineProviderAdmin(admin.ModelAdmin):
    """Read-only, credentials excluded: lines are connected (and verified) through the API,
    and a secret is never shown back."""

    list_display = ("line", "provider", "account_sid", "workspace", "is_default", "mps", "verified_at")
    list_filter = ("provider", "is_default")
    search_fields = ("line__phone_number", "line__name", "account_sid", "workspace__name")
    list_select_related = ("line", "workspace")
    exclude = ("auth_token", "signing_key")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in LineProvider._meta.concrete_fields if f.name not in ("auth_token", "signing_key")]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ConsentChange)
class ConsentChangeAdmin(admin.ModelAdmin):
    """The consent ledger: read-only."""

    list_display = ("contact", "opted_out", "source", "keyword", "workspace", "created_at")
    list_filter = ("opted_out", "source")
    search_fields = ("contact__phone_number", "keyword")
    list_select_related = ("contact", "workspace")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in ConsentChange._meta.concrete_fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("position", "role", "direction", "status", "source", "content", "error_code", "created_at")
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
