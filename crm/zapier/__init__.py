"""Zapier's polling triggers and actions (SPEC §5.3)."""
