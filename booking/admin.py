"""Admin for booking: availability rules (checked as the API checks them), bookings read-only
with a cancel action that goes through the service (events, the cancel invite), and Calendly
connections (checked with Calendly on save; token and signing key write-only)."""

from django import forms
from django.contrib import admin, messages

from .availability import services as availability
from .availability.selectors import RULE_FIELDS
from .availability.serializers import RulesSerializer
from .bookings import services
from .calendly import services as calendly_services
from .models import AvailabilityRules, Booking, CalendlyConnection


class RulesForm(forms.ModelForm):
    class Meta:
        model = AvailabilityRules
        fields = ["workspace", *RULE_FIELDS]

    def clean(self):
        cleaned = super().clean()
        serializer = RulesSerializer(data={name: cleaned.get(name) for name in RULE_FIELDS if name in cleaned})
        if not serializer.is_valid():
            for field, errors in serializer.errors.items():
                self.add_error(field if field in self.fields else None, [str(error) for error in errors])
            return cleaned
        cleaned.update(serializer.validated_data)
        return cleaned


@admin.register(AvailabilityRules)
class AvailabilityRulesAdmin(admin.ModelAdmin):
    form = RulesForm
    list_display = ("workspace", "timezone", "slot_minutes", "buffer_minutes", "min_notice_minutes", "horizon_days")
    search_fields = ("workspace__name",)
    list_select_related = ("workspace",)
    raw_id_fields = ("workspace",)

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in RULE_FIELDS}
        saved = availability.rules_set(workspace=form.cleaned_data["workspace"], values=values)
        obj.pk = saved.pk


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    """Read-only: bookings are made by the widget, the API and Calendly; cancel is an action."""

    list_display = ("name", "email", "start", "end", "status", "source", "workspace", "created_at")
    list_filter = ("status", "source", "workspace")
    search_fields = ("=id", "name", "email", "phone", "calendly_invitee_uri")
    list_select_related = ("workspace",)
    date_hierarchy = "start"
    actions = ("cancel_bookings",)
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Booking._meta.concrete_fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_cancel_permission(self, request) -> bool:
        # The rows are read-only here; cancelling is what "change" means for them.
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Cancel the selected bookings (both sides get the cancellation)", permissions=["cancel"])
    def cancel_bookings(self, request, queryset):
        count = 0
        for booking in queryset.select_related("workspace").exclude(status=Booking.Status.CANCELLED):
            services.booking_cancel(workspace=booking.workspace, booking=booking, reason="Cancelled by an operator")
            count += 1
        self.message_user(request, f"{count} booking(s) cancelled.", messages.SUCCESS)


class CalendlyForm(forms.ModelForm):
    """Secrets are write-only: never rendered back; left blank on a change, they are kept."""

    token = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False, max_length=2000)
    signing_key = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False, max_length=500)

    class Meta:
        model = CalendlyConnection
        fields = ["workspace", "token", "event_type_uri", "signing_key"]

    def clean(self):
        cleaned = super().clean()
        token = cleaned.get("token") or (self.instance.token if self.instance.pk else "")
        if not token:
            self.add_error("token", "A Calendly personal access token is required.")
            return cleaned
        if self.errors:
            return cleaned
        try:
            calendly_services.calendly_check(token=token, event_type_uri=cleaned["event_type_uri"])
        except calendly_services.ConnectionInvalid as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        cleaned["token"] = token
        return cleaned


@admin.register(CalendlyConnection)
class CalendlyConnectionAdmin(admin.ModelAdmin):
    form = CalendlyForm
    list_display = ("workspace", "event_type_name", "duration_minutes", "enabled", "updated_at")
    search_fields = ("workspace__name", "event_type_uri")
    list_select_related = ("workspace",)
    raw_id_fields = ("workspace",)
    readonly_fields = ("event_type_name", "duration_minutes", "scheduling_url", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        # Through the service, as the API connects (it checks the token with Calendly again).
        data = form.cleaned_data
        connection = calendly_services.calendly_connect(
            workspace=data["workspace"],
            token=data["token"],
            event_type_uri=data["event_type_uri"],
            signing_key=data.get("signing_key") or None,
        )
        obj.pk = connection.pk
