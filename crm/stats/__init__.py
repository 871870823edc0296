"""A workspace's figures: GET /api/v1/stats."""
