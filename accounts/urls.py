"""Native API routes of accounts."""

from django.urls import path

from .api import WorkspaceView

urlpatterns = [
    path("workspace", WorkspaceView.as_view(), name="workspace"),
]
