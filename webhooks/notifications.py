"""What webhooks tell people: the admins of a workspace whose endpoint was disabled."""

from django.conf import settings
from django.core.mail import send_mail

from accounts.models import ADMIN_ROLES, AgencyMembership, Membership, Workspace


def _admin_emails(*, workspace: Workspace) -> list[str]:
    emails = set(
        Membership.objects.filter(workspace=workspace, role__in=ADMIN_ROLES).values_list("user__email", flat=True)
    )
    if workspace.agency_id:
        emails |= set(
            AgencyMembership.objects.filter(agency_id=workspace.agency_id, role__in=ADMIN_ROLES).values_list(
                "user__email", flat=True
            )
        )
    return sorted(email for email in emails if email)


def admins_tell_endpoint_disabled(*, workspace_id, url: str, reason: str) -> None:
    """E-mail the workspace's admins (and its agency's) that an endpoint was disabled."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    recipients = _admin_emails(workspace=workspace) if workspace else []
    if not recipients:
        return
    send_mail(
        subject=f"LeadHub: webhook endpoint disabled ({workspace.name})",
        message=(
            f"The webhook endpoint {url} of {workspace.name} has been disabled.\n\n"
            f"Reason: {reason}\n\n"
            "Its undelivered events are kept. Fix the endpoint, then enable it again "
            "(PATCH /api/v1/webhooks/{id} with enabled=true, or in the admin) and delivery resumes."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
        fail_silently=True,
    )
