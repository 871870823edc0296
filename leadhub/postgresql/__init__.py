"""Django's PostgreSQL backend with the tenancy scope of leadhub.tenancy synced to each
connection (ENGINE "leadhub.postgresql", set by settings.py for postgres:// URLs)."""
