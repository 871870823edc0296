"""Brains (a workspace's AI agents) and their knowledge: services, reads, retrieval and API."""
