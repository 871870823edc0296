"""Every page of the dashboard in one map: the shell's, the agency view, and each app's views
under /w/<workspace_id>/ (each such view goes through leadhub.web.access.workspace_page)."""

from django.urls import include, path

from accounts import views as accounts_views
from booking import views as booking_views
from crm import views as crm_views
from leadhub.web import views as shell_views
from messaging.brains import views as knowledge_views
from messaging.campaigns import views as campaigns_views
from messaging.conversations import views as conversations_views
from webhooks import views as webhooks_views

from . import views

app_name = "web"

workspace_patterns = [
    path("", views.workspace_home, name="workspace"),
    path("leads/", crm_views.leads, name="leads"),
    path("leads/export.csv", views.leads_export, name="leads-export"),
    path("leads/import/", views.leads_import, name="leads-import"),
    path("leads/import/<str:import_id>/", views.leads_import_detail, name="leads-import-detail"),
    path("leads/import/<str:import_id>/progress", views.leads_import_progress, name="leads-import-progress"),
    path("leads/import/<str:import_id>/rejected.csv", views.leads_import_rejected, name="leads-import-rejected"),
    path("leads/<str:contact_id>/", crm_views.lead, name="lead"),
    path("leads/<str:contact_id>/notes", crm_views.lead_note, name="lead-note"),
    path("leads/<str:contact_id>/tags", crm_views.lead_tags, name="lead-tags"),
    path("leads/<str:contact_id>/update", crm_views.lead_update, name="lead-update"),
    path("leads/<str:contact_id>/bookings", booking_views.contact_bookings, name="contact-bookings"),
    path("leads/<str:contact_id>/conversation", conversations_views.contact_conversation, name="contact-conversations"),
    path("leads/<str:contact_id>/messages", conversations_views.contact_send, name="lead-send"),
    path("conversations/", conversations_views.conversations, name="conversations"),
    path("conversations/<str:conversation_id>/", conversations_views.conversation, name="conversation"),
    path(
        "conversations/<str:conversation_id>/messages", conversations_views.conversation_send, name="conversation-send"
    ),
    path(
        "conversations/<str:conversation_id>/takeover",
        conversations_views.conversation_take_over,
        name="conversation-takeover",
    ),
    path(
        "conversations/<str:conversation_id>/handback",
        conversations_views.conversation_hand_back,
        name="conversation-handback",
    ),
    path("knowledge/", knowledge_views.knowledge, name="knowledge"),
    path("knowledge/new", knowledge_views.knowledge_create, name="knowledge-create"),
    path("knowledge/<str:document_id>/", knowledge_views.knowledge_document, name="knowledge-document"),
    path("knowledge/<str:document_id>/edit", knowledge_views.knowledge_update, name="knowledge-update"),
    path("knowledge/<str:document_id>/delete", knowledge_views.knowledge_delete, name="knowledge-delete"),
    path("bookings/", booking_views.bookings, name="bookings"),
    path("bookings/<str:booking_id>/cancel", booking_views.booking_cancel, name="booking-cancel"),
    path("stats/", views.stats, name="stats"),
    path("webhooks/", webhooks_views.endpoints, name="webhooks"),
    path("webhooks/deliveries/<str:delivery_id>/", webhooks_views.delivery, name="delivery"),
    path("webhooks/deliveries/<str:delivery_id>/replay", webhooks_views.delivery_replay, name="delivery-replay"),
    path("webhooks/deliveries/<str:delivery_id>/give-up", webhooks_views.delivery_give_up, name="delivery-give-up"),
    path("webhooks/<str:endpoint_id>/", webhooks_views.endpoint, name="webhook"),
    path("webhooks/<str:endpoint_id>/enabled", webhooks_views.endpoint_enabled, name="webhook-enabled"),
    path("webhooks/<str:endpoint_id>/replay", webhooks_views.endpoint_replay, name="webhook-replay"),
    path("campaigns/", campaigns_views.campaigns, name="campaigns"),
    path("campaigns/<str:campaign_id>/cancel", campaigns_views.campaign_cancel, name="campaign-cancel"),
    path("keys/", accounts_views.keys, name="keys"),
    path("keys/<str:key_id>/revoke", accounts_views.key_revoke, name="key-revoke"),
]

urlpatterns = [
    path("", shell_views.home, name="home"),
    path("login/", shell_views.LoginView.as_view(), name="login"),
    path("logout/", shell_views.LogoutView.as_view(), name="logout"),
    path("agency/", views.agency, name="agency"),
    path("w/<str:workspace_id>/", include(workspace_patterns)),
]
