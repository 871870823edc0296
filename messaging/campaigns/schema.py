"""OpenAPI examples of the campaigns API (kept out of the views)."""

CAMPAIGN = {
    "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "name": "Reminders for Dec 1",
    "scenario": "appointment_reminder",
    "channel": "sms",
    "status": "scheduled",
    "schedule_at": "2026-12-01T15:00:00Z",
    "message_template": "Hi {{ first_name }}, see you at {{ time }}. Reply C to confirm.",
    "from_number": "+18187405020",
    "quiet_hours": {"start": "21:00", "end": "08:00"},
    "reply_window_hours": 72,
    "content_sid": "",
    "content_variables": {},
    "ai_replies": True,
    "opt_out_digit": "9",
    "no_input_message": "",
    "webhook_endpoint_id": "3d5c7a64-8a43-4b0e-9c6e-0f3f7c2a1b10",
    "recipient_count": 2,
    "missing_variables": {},
    "counts": {"queued": 2, "sent": 0, "delivered": 0, "failed": 0, "skipped": 0},
    "created_at": "2026-11-30T09:00:00Z",
    "started_at": None,
    "completed_at": None,
    "cancelled_at": None,
}
CREATE = {
    "scenario": "appointment_reminder",
    "channel": "sms",
    "schedule_at": "2026-12-01T15:00:00Z",
    "message_template": "Hi {{ first_name }}, see you at {{ time }}. Reply C to confirm.",
    "recipients": [
        {"phone": "+1 818-740-5020", "context": {"first_name": "Ada", "time": "10:30"}},
        {"phone": "+442071838750", "context": {"first_name": "Alan", "time": "11:00"}},
    ],
    "webhook_url": "https://hooks.example.com/leadhub/campaigns",
}
