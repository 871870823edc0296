"""Admin console for webhooks: endpoints (secret shown once), deliveries filtered by status and
endpoint with their attempts inline, and replay, one at a time or in bulk. Writes go through
webhooks.services, as everywhere else."""

from collections import defaultdict
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from .events import EVENT_TYPES
from .models import Attempt, Delivery, Endpoint, Event
from .selectors import endpoint_figures
from .services import (
    deliveries_give_up,
    deliveries_replay,
    deliveries_replay_failed,
    delivery_replay,
    endpoint_create,
    endpoint_update,
)
from .transport.ssrf import UnsafeUrl, url_vet


def _actor(request) -> str:
    return f"admin:{request.user.get_username()}"


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https", help_text="https:// to a public host.")
    event_types = forms.MultipleChoiceField(
        choices=[(event_type, event_type) for event_type in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every event type.",
    )

    class Meta:
        model = Endpoint
        fields = ["workspace", "url", "description", "event_types", "enabled"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            url_vet(url)
        except UnsafeUrl as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("url", "workspace", "enabled", "is_rest_hook", "failing_since", "last_success_at", "created_at")
    list_filter = ("enabled", "is_rest_hook")
    list_select_related = ("workspace",)
    search_fields = ("url", "description", "workspace__name")
    readonly_fields = ("disabled_at", "disabled_reason", "failing_since", "last_success_at", "is_rest_hook")
    actions = ("enable", "disable", "replay_failed_last_day", "replay_failed_last_week")

    def get_readonly_fields(self, request, obj=None):
        # The workspace of an existing endpoint does not change; its figures show once it exists.
        return (*self.readonly_fields, "workspace", "figures") if obj else self.readonly_fields

    @admin.display(description="figures")
    def figures(self, endpoint: Endpoint) -> str:
        """What to look at before replaying: the figures API's numbers (GET /webhooks/{id}/figures)."""
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", _figure_rows(endpoint)),
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            saved = endpoint_update(
                workspace=obj.workspace,
                endpoint=Endpoint.objects.get(pk=obj.pk),
                url=data["url"],
                event_types=data["event_types"],
                description=data["description"],
                enabled=data["enabled"],
            )
        else:
            new = endpoint_create(
                workspace=data["workspace"],
                url=data["url"],
                event_types=data["event_types"],
                description=data["description"],
                enabled=data["enabled"],
            )
            saved = new.endpoint
            messages.warning(
                request,
                format_html("Signing secret: <code>{}</code> — copy it now, it is not shown again.", new.secret),
            )
        obj.pk = saved.pk
        obj._state.adding = False

    @admin.action(description="Enable (resumes their kept deliveries)", permissions=["change"])
    def enable(self, request, queryset):
        for endpoint in queryset.select_related("workspace"):
            endpoint_update(workspace=endpoint.workspace, endpoint=endpoint, enabled=True)
        self.message_user(request, f"{queryset.count()} endpoint(s) enabled.")

    @admin.action(description="Disable", permissions=["change"])
    def disable(self, request, queryset):
        for endpoint in queryset.select_related("workspace"):
            endpoint_update(workspace=endpoint.workspace, endpoint=endpoint, enabled=False)
        self.message_user(request, f"{queryset.count()} endpoint(s) disabled.")

    def _replay_failed(self, request, queryset, since) -> None:
        total = 0
        for endpoint in queryset.select_related("workspace"):
            total += len(
                deliveries_replay_failed(
                    workspace=endpoint.workspace, endpoint=endpoint, since=since, actor=_actor(request)
                )
            )
        self.message_user(request, f"{total} failed deliveries replayed.")

    @admin.action(description="Replay failed deliveries of the last 24 hours", permissions=["change"])
    def replay_failed_last_day(self, request, queryset):
        self._replay_failed(request, queryset, timezone.now() - timedelta(days=1))

    @admin.action(description="Replay failed deliveries of the last 7 days", permissions=["change"])
    def replay_failed_last_week(self, request, queryset):
        self._replay_failed(request, queryset, timezone.now() - timedelta(days=7))


def _figure_rows(endpoint: Endpoint) -> list[tuple[str, str]]:
    figures = endpoint_figures(workspace=endpoint.workspace, endpoint=endpoint)

    def when(value) -> str:
        return value.isoformat(timespec="seconds").replace("+00:00", "Z") if value else "—"

    def ms(value) -> str:
        return "—" if value is None else f"{value} ms"

    rate = figures["success_rate"]
    return [
        (
            f"success rate (last {figures['window_hours']} h)",
            "— (no attempts)" if rate is None else f"{rate * 100:.1f} % of {figures['attempts']} attempts",
        ),
        ("latency p50 / p95", f"{ms(figures['latency_p50_ms'])} / {ms(figures['latency_p95_ms'])}"),
        ("in flight", str(figures["in_flight"])),
        ("pending / failed", f"{figures['pending']} / {figures['failed']}"),
        ("next retry", when(figures["next_retry_at"])),
        ("backed off until", when(figures["backoff_until"])),
        ("enabled", "yes" if figures["enabled"] else f"no: {figures['disabled_reason'] or 'disabled'}"),
    ]


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ("attempted_at", "status_code", "duration_ms", "error", "response_excerpt")
    readonly_fields = fields
    ordering = ("attempted_at", "pk")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "event_type",
        "endpoint",
        "workspace",
        "status",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("status", ("endpoint", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("event", "endpoint", "workspace")
    search_fields = ("=id", "=event__id")
    inlines = (AttemptInline,)
    actions = ("replay", "give_up")
    readonly_fields = (
        "workspace",
        "event",
        "endpoint",
        "status",
        "attempt_count",
        "next_attempt_at",
        "lease_expires_at",
        "last_status_code",
        "last_error",
        "succeeded_at",
        "replay_of",
        "created_at",
        "updated_at",
        "body",
    )
    fields = readonly_fields
    change_form_template = "admin/webhooks/delivery/change_form.html"

    @admin.display(description="event type", ordering="event__type")
    def event_type(self, delivery: Delivery) -> str:
        return delivery.event.type

    @admin.display(description="body (the envelope, as signed)")
    def body(self, delivery: Delivery) -> str:
        return format_html("<pre>{}</pre>", delivery.event.body().decode())

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # read-only: the page shows the attempts and the replay button

    def has_replay_permission(self, request) -> bool:
        # The rows are read-only; replaying and giving up are what "change" means for them.
        return request.user.has_perm("webhooks.change_delivery")

    @admin.action(description="Replay the selected deliveries (same webhook-id)", permissions=["replay"])
    def replay(self, request, queryset):
        by_workspace = defaultdict(list)
        for delivery in queryset.select_related("workspace"):
            by_workspace[delivery.workspace].append(delivery)
        total = sum(
            len(deliveries_replay(workspace=workspace, deliveries=deliveries, actor=_actor(request)))
            for workspace, deliveries in by_workspace.items()
        )
        self.message_user(request, f"{total} deliveries replayed.")

    @admin.action(description="Give up on the selected pending deliveries (mark failed)", permissions=["replay"])
    def give_up(self, request, queryset):
        by_workspace = defaultdict(list)
        for delivery in queryset.select_related("workspace"):
            by_workspace[delivery.workspace].append(delivery)
        total = sum(
            deliveries_give_up(workspace=workspace, deliveries=deliveries, actor=_actor(request))
            for workspace, deliveries in by_workspace.items()
        )
        self.message_user(request, f"{total} pending deliveries given up.")

    def get_urls(self):
        return [
            path(
                "<uuid:delivery_id>/replay/",
                self.admin_site.admin_view(self.replay_one),
                name="webhooks_delivery_replay",
            ),
            *super().get_urls(),
        ]

    def replay_one(self, request, delivery_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("webhooks.change_delivery"):
            raise PermissionDenied
        delivery = get_object_or_404(Delivery.objects.select_related("workspace", "event", "endpoint"), pk=delivery_id)
        replay = delivery_replay(workspace=delivery.workspace, delivery=delivery, actor=_actor(request))
        self.message_user(request, "Replayed: a new delivery of the same event.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:webhooks_delivery_change", args=[replay.pk]))


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "workspace", "bot_id", "created_at")
    list_filter = ("type",)
    list_select_related = ("workspace",)
    search_fields = ("=id",)
    readonly_fields = ("id", "workspace", "type", "bot_id", "data", "created_at")
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
