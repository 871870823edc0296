"""Bookings: made, listed and cancelled, with their events and e-mails, and the /api/v1/bookings API."""
