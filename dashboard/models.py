"""A CSV import of contacts: the uploaded file, the column mapping, and the progress and
rejected rows that the worker records as it goes."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.timezone import now


class ContactImport(models.Model):
    class Status(models.TextChoices):
        MAPPING = "mapping"  # uploaded; the person maps columns to fields
        QUEUED = "queued"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    filename = models.CharField(max_length=255)
    # The file itself, decoded: kept in the database so that any worker can read it (web and
    # workers share no disk in production). Its size is bounded by CSV_IMPORT_MAX_BYTES.
    content = models.TextField()
    columns = models.JSONField(default=list)  # the header row
    mapping = models.JSONField(default=dict)  # column index (as a string) -> contact field
    update_existing = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MAPPING)
    total_rows = models.PositiveIntegerField(default=0)
    # Rows done so far, committed with the contacts of the same batch: a worker that dies
    # mid-import is followed by one that starts after the last committed batch.
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    # [[row number, reason, original cells...], ...] for the downloadable report.
    rejected = models.JSONField(default=list)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The import list of a workspace, newest first.
            models.Index(fields=["workspace", "-created_at"], name="contactimport_ws_created"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        return int(self.processed_rows * 100 / self.total_rows) if self.total_rows else 0

    @property
    def is_done(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.FAILED)
