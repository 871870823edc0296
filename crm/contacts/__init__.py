"""Contacts (leads): the one write path (services, writer), reads, the API."""
