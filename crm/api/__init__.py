"""The CRM's HTTP APIs: lead intake, contacts, Zapier, stats."""
