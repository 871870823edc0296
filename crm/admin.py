"""Admin for the CRM. Contacts are read here and worked through the services (the API, the
dashboard), which record the timeline and emit events; so the admin shows them read-only
and edits only the workspace's setup: tags, dispositions, lines, ring groups, sequences.
Operators may delete contacts: through crm's delete services, as every other channel."""

from django.contrib import admin

from .contacts.services import contact_delete, contacts_delete
from .models import (
    Contact,
    DispositionStatus,
    Line,
    Note,
    RingGroup,
    RingGroupMember,
    Sequence,
    SequenceStep,
    Tag,
    TimelineEntry,
)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class NoteInline(_ReadOnlyInline):
    model = Note
    fields = ("created_at", "author", "body")
    readonly_fields = fields
    ordering = ("-created_at",)


class TimelineInline(_ReadOnlyInline):
    model = TimelineEntry
    fields = ("created_at", "kind", "data")
    readonly_fields = fields
    ordering = ("-created_at", "-id")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("__str__", "phone_number", "email", "company_name", "status", "source", "workspace", "created_at")
    list_filter = ("status", "sms_opt_out", "source", "workspace")
    search_fields = ("name", "email", "phone_number", "company_name", "session_id", "=id")
    list_select_related = ("workspace",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = (NoteInline, TimelineInline)
    show_full_result_count = False  # a count of a big table on every page is slow

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Contact._meta.get_fields() if getattr(field, "concrete", False)] + ["tags"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    # Model.delete and QuerySet.delete would leave the stats' daily counters counting the lead.
    def delete_model(self, request, obj) -> None:
        contact_delete(contact=obj)

    def delete_queryset(self, request, queryset) -> None:
        contacts_delete(contacts=queryset)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "created_at")
    search_fields = ("name", "workspace__name")
    list_filter = ("workspace",)
    list_select_related = ("workspace",)


@admin.register(DispositionStatus)
class DispositionStatusAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "created_at")
    search_fields = ("name", "workspace__name")
    list_filter = ("workspace",)
    list_select_related = ("workspace",)


@admin.register(Line)
class LineAdmin(admin.ModelAdmin):
    list_display = ("name", "phone_number", "workspace", "created_at")
    search_fields = ("name", "phone_number", "workspace__name")
    list_filter = ("workspace",)
    list_select_related = ("workspace",)


class RingGroupMemberInline(admin.TabularInline):
    model = RingGroupMember
    extra = 0
    raw_id_fields = ("user",)


@admin.register(RingGroup)
class RingGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "created_at")
    search_fields = ("name", "workspace__name")
    list_filter = ("workspace",)
    list_select_related = ("workspace",)
    inlines = (RingGroupMemberInline,)


class SequenceStepInline(admin.TabularInline):
    model = SequenceStep
    extra = 0
    ordering = ("position",)


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "workspace", "created_at")
    search_fields = ("name", "workspace__name")
    list_filter = ("is_active", "workspace")
    list_select_related = ("workspace",)
    inlines = (SequenceStepInline,)
