"""What Celery beat runs, and how often: each entry is a periodic sweep or tick whose task is
idempotent (a tick that runs twice, or not at all, only delays work). Read by settings.py as
CELERY_BEAT_SCHEDULE."""

BEAT_SCHEDULE = {
    "purge-expired-idempotency-keys": {
        "task": "leadhub.api.tasks.idempotency_keys_purge",
        "schedule": 3600.0,
    },
    # Completes conversations idle for CONVERSATION_IDLE_MINUTES (conversation.completed).
    "complete-idle-conversations": {
        "task": "messaging.tasks.conversations_complete_idle",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Re-enqueues outbound messages left queued (their task lost with a broker restart).
    "sweep-queued-messages": {
        "task": "messaging.tasks.messages_sweep",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Answers, by the provider's REST API, inbound messages whose turn died before answering
    # (messaging/inbound/sweep.py).
    "answer-unanswered-inbound": {
        "task": "messaging.tasks.inbound_unanswered_sweep",
        "schedule": 30.0,
        "options": {"expires": 30.0},
    },
    # Sends booking e-mails whose task message was lost (the tasks themselves retry SMTP).
    "sweep-booking-emails": {
        "task": "booking.tasks.booking_notify_sweep",
        "schedule": 900.0,
        "options": {"expires": 900.0},
    },
    # Starts due campaigns and gives each campaign with recipients due one driver task
    # (messaging/campaigns/tasks.py); a tick not started within its interval is dropped.
    "campaigns-tick": {
        "task": "campaigns.tasks.campaigns_tick",
        "schedule": 2.0,
        "options": {"expires": 2.0},
    },
    # Sends the sequence steps that are due, inside allowed hours.
    "sequences-tick": {
        "task": "campaigns.tasks.sequences_tick",
        "schedule": 30.0,
        "options": {"expires": 30.0},
    },
    # Claims due webhook deliveries (retries, and any whose dispatch message was lost). A
    # sweep not started within its interval is dropped: the next one does the same work.
    "sweep-webhook-deliveries": {
        "task": "webhooks.tasks.deliveries_sweep",
        "schedule": 5.0,
        "options": {"expires": 5.0},
    },
}
