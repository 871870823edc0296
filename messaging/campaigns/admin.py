"""Admin console for campaigns: campaigns with their counts (read-only: they are created through
the API), cancelling scheduled ones (through the same service), and each recipient's outcome;
sequence progress and the steps sent."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from .models import Campaign, LinePace, Recipient, SequenceProgress, SequenceSend
from .selectors import campaign_counts
from .services import CampaignStarted, campaign_cancel


class _ReadOnly(admin.ModelAdmin):
    """Written by the engine and the API's services only."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(_ReadOnly):
    list_display = ("__str__", "workspace", "channel", "status", "schedule_at", "recipient_count", "created_at")
    list_filter = ("status", "channel")
    list_select_related = ("workspace",)
    search_fields = ("=id", "name", "scenario", "workspace__name")
    date_hierarchy = "created_at"
    readonly_fields = ("counts", "recipients_link")
    actions = ("cancel",)
    show_full_result_count = False

    @admin.display(description="counts")
    def counts(self, campaign: Campaign) -> str:
        counts = campaign_counts(campaign_ids=[campaign.pk])[campaign.pk]
        return ", ".join(f"{key} {value}" for key, value in counts.items())

    @admin.display(description="recipients")
    def recipients_link(self, campaign: Campaign) -> str:
        url = reverse("admin:campaigns_recipient_changelist") + f"?campaign__id__exact={campaign.pk}"
        return format_html('<a href="{}">{} recipients</a>', url, campaign.recipient_count)

    def has_cancel_permission(self, request) -> bool:
        # The rows are read-only here; cancelling is what "change" means for them.
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Cancel the selected scheduled campaigns", permissions=["cancel"])
    def cancel(self, request, queryset) -> None:
        cancelled = refused = 0
        for campaign in queryset.select_related("workspace"):
            try:
                campaign_cancel(workspace=campaign.workspace, campaign=campaign)
                cancelled += 1
            except CampaignStarted:
                refused += 1
        self.message_user(request, f"{cancelled} cancelled.", messages.SUCCESS)
        if refused:
            self.message_user(request, f"{refused} had started already and were left alone.", messages.WARNING)


@admin.register(Recipient)
class RecipientAdmin(_ReadOnly):
    list_display = ("campaign", "index", "phone", "status", "reason", "provider_sid", "keypress", "updated_at")
    list_filter = ("status", "reason")
    list_select_related = ("campaign",)
    search_fields = ("phone", "=provider_sid")
    raw_id_fields = ("campaign", "contact")
    show_full_result_count = False


@admin.register(SequenceProgress)
class SequenceProgressAdmin(_ReadOnly):
    list_display = ("enrollment", "workspace", "next_position", "due_at")
    list_select_related = ("enrollment", "workspace")
    raw_id_fields = ("enrollment",)


@admin.register(SequenceSend)
class SequenceSendAdmin(_ReadOnly):
    list_display = ("enrollment", "position", "status", "reason", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("enrollment",)


@admin.register(LinePace)
class LinePaceAdmin(_ReadOnly):
    list_display = ("line", "next_slot_at")
