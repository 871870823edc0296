from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = "Booking"

    def ready(self) -> None:
        # A brain offers free slots in a conversation and books the one the lead picks
        # (booking/conversation/skill.py): a skill of messaging's, which never imports booking.
        from .conversation.skill import register

        register()
