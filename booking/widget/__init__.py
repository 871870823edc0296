"""The chat widget's booking: `/api/book-meeting` and which calendar answers it."""
