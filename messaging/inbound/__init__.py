"""Inbound WhatsApp and SMS: the provider's signed webhook, stored once per MessageSid, consent
keywords, guardrails, and the brain's reply as TwiML; status callbacks."""
