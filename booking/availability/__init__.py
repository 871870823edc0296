"""Availability: the workspace's rules and the free slots they leave (reads and writes)."""
