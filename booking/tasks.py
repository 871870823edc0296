"""Booking e-mails, sent by Celery after the booking commits, retried while SMTP fails.

Idempotent: a booking remembers the SEQUENCE whose e-mails went out, so a repeated or
redelivered task sends nothing more; a sweep on beat sends what a lost message left unsent.
"""

import datetime as dt
import smtplib

from celery import shared_task

from leadhub.tenancy import object_scope, operator_scope

from .models import Booking
from .notifications import booking_notify_send, unsent_booking_ids

SWEEP_LOOKBACK = dt.timedelta(days=2)
SWEEP_SETTLE = dt.timedelta(minutes=10)  # past the first retries of its own task


@shared_task(
    name="booking.tasks.booking_notify",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=10,
)
def booking_notify(booking_id: str) -> int:
    with object_scope(Booking, booking_id):
        return booking_notify_send(booking_id=booking_id)


@shared_task(name="booking.tasks.booking_notify_sweep", acks_late=True, ignore_result=True)
def booking_notify_sweep() -> int:
    with operator_scope("beat_sweep"):
        ids = unsent_booking_ids(since=dt.datetime.now(dt.UTC) - SWEEP_LOOKBACK, settle=SWEEP_SETTLE)
    for booking_id in ids:
        booking_notify.delay(booking_id)
    return len(ids)
