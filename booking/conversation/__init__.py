"""Booking in a WhatsApp or SMS conversation: the skill booking registers with messaging."""
