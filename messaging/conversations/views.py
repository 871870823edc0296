"""The dashboard's conversations: the live list (htmx polls its first page), a conversation's
page (transcript, take over, hand back, the send box) and a lead's conversation panel on the
lead's page (transcript, consent, the send box).

Every write is the one the API makes: `conversation_agent_send` (POST
/api/v1/conversations/{id}/messages: the first message takes the conversation over),
`conversation_takeover`, `conversation_handback`, and `message_send` for a lead with no open
conversation (as send-whatsapp). What may be sent (consent, the 24-hour WhatsApp window, a
verified line) is decided there; a refusal is shown with the field it names.
"""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from crm.contacts.selectors import contact_get
from crm.models import Contact
from leadhub.web.access import workspace_page
from leadhub.web.paging import keyset_page

from .. import twilio
from ..models import SEND_CHANNELS, Conversation, Message
from ..outbound.services import MAX_BODY, SendRefused, conversation_agent_send, message_send
from ..transcript import conversation_takeover
from . import selectors, services

POLL_SECONDS = 5  # how often an open list or transcript asks for what is new
PLACES = ("conversation", "lead")  # where a panel is drawn: its own page or the lead's page


class ConversationFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Open or completed"), *Conversation.Status.choices])
    channel = forms.ChoiceField(required=False, choices=[("", "Any channel"), *Conversation.Channel.choices])


class SendForm(forms.Form):
    content = forms.CharField(max_length=MAX_BODY)


class LeadSendForm(SendForm):
    channel = forms.ChoiceField(choices=[(channel, channel) for channel in SEND_CHANNELS])


@workspace_page
@require_GET
def conversations(request: HttpRequest) -> HttpResponse:
    form = ConversationFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    queryset = selectors.conversations_list(
        workspace=request.workspace, status=filters.get("status") or None, channel=filters.get("channel") or None
    )
    page = keyset_page(selectors.conversations_with_last_message(queryset), request.GET.get("cursor"))
    context = {
        "section": "conversations",
        "form": form,
        "page": page,
        "filtered": any(filters.values()),
        "poll_seconds": POLL_SECONDS,
    }
    if request.htmx and request.htmx.target == "conversation-list":
        return render(request, "messaging/_conversation_list.html", context)
    return render(request, "messaging/conversations.html", context)


# --- One conversation --------------------------------------------------------------------------


def _place(request: HttpRequest) -> str:
    place = request.POST.get("place") or request.GET.get("place")
    return place if place in PLACES else "conversation"


def _panel(
    request: HttpRequest, *, contact: Contact | None, conversation: Conversation | None, place: str, **extra
) -> dict:
    """What a conversation panel draws: its transcript, who holds it, the lead's consent, and
    where the send box posts (into the conversation, or to the lead when none is open)."""
    return {
        "section": "conversations" if place == "conversation" else "leads",
        "place": place,
        "contact": contact,
        "conversation": conversation,
        "transcript": selectors.conversation_messages(conversation=conversation) if conversation else [],
        "writable": selectors.conversation_writable(conversation),
        "channels": SEND_CHANNELS,
        "poll_seconds": POLL_SECONDS,
        "max_body": MAX_BODY,
        **extra,
    }


def _lead_panel(request: HttpRequest, contact: Contact, **extra) -> dict:
    """The lead's panel: its newest conversation a person can write in, else its newest, and
    links to the others."""
    found = selectors.contact_conversations(workspace=request.workspace, contact=contact)
    current = next((c for c in found if selectors.conversation_writable(c)), found[0] if found else None)
    others = [c for c in found if c is not current]
    return _panel(request, contact=contact, conversation=current, place="lead", others=others, **extra)


@workspace_page
@require_GET
def conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    found = selectors.conversation_get(workspace=request.workspace, conversation_id=conversation_id)
    context = _panel(request, contact=found.contact, conversation=found, place=_place(request))
    if request.htmx and request.htmx.target == "conversation-live":
        return render(request, "messaging/_conversation_live.html", context)
    return render(request, "messaging/conversation.html", context)


@workspace_page
@require_GET
def contact_conversation(request: HttpRequest, contact_id: str) -> HttpResponse:
    """The lead page's conversation panel (loaded by htmx)."""
    contact = contact_get(workspace=request.workspace, contact_id=contact_id)
    return render(request, "messaging/_conversation_panel.html", _lead_panel(request, contact))


def _refusal(exc: SendRefused) -> dict:
    field, errors = next(iter(exc.message_dict.items()))
    return {"field": field, "message": errors[0]}


def _form_error(form: forms.Form) -> dict:
    field, errors = next(iter(form.errors.items()))
    return {"field": field, "message": errors[0]}


def _answer(
    request: HttpRequest,
    *,
    place: str,
    conversation_id=None,
    contact: Contact | None = None,
    error: dict | None = None,
    done: str = "",
) -> HttpResponse:
    """After a write: htmx gets the panel again (400 with the refusal, which app.js swaps in
    too); a plain form post goes back to the page it came from, with the outcome as a notice."""
    if place == "lead" and contact is None:  # the lead is gone: the conversation's own page
        place = "conversation"
    if request.htmx:
        if place == "lead":
            context = _lead_panel(request, contact, error=error)
        else:
            found = selectors.conversation_get(workspace=request.workspace, conversation_id=conversation_id)
            context = _panel(request, contact=found.contact, conversation=found, place=place, error=error)
        if error:
            context["draft"] = request.POST.get("content", "")
        return render(request, "messaging/_conversation_panel.html", context, status=400 if error else 200)
    if error:
        messages.error(request, f"Not sent ({error['field']}): {error['message']}")
    elif done:
        messages.success(request, done)
    if place == "lead":
        return redirect(reverse("web:lead", args=[request.workspace.pk, contact.pk]))
    return redirect(reverse("web:conversation", args=[request.workspace.pk, conversation_id]))


@workspace_page
@require_POST
def conversation_send(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """A person writes in the conversation (the API's POST .../messages): it is taken over."""
    found = selectors.conversation_get(workspace=request.workspace, conversation_id=conversation_id)
    form = SendForm(request.POST)
    error = None
    if not form.is_valid():
        error = _form_error(form)
    else:
        try:
            conversation_agent_send(
                conversation=found,
                content=form.cleaned_data["content"],
                user=request.user,
                callback_base=twilio.public_base_url(request),
            )
        except SendRefused as exc:
            error = _refusal(exc)
    return _answer(
        request, place=_place(request), conversation_id=found.pk, contact=found.contact, error=error, done="Sent."
    )


@workspace_page
@require_POST
def contact_send(request: HttpRequest, contact_id: str) -> HttpResponse:
    """A person writes to a lead with no open conversation: one is opened on the workspace's
    default line (as send-whatsapp does)."""
    contact = contact_get(workspace=request.workspace, contact_id=contact_id)
    form = LeadSendForm(request.POST)
    error = None
    if not form.is_valid():
        error = _form_error(form)
    else:
        try:
            message_send(
                workspace=request.workspace,
                contact=contact,
                channel=form.cleaned_data["channel"],
                body=form.cleaned_data["content"],
                source=Message.Source.AGENT,
                author=request.user,
                callback_base=twilio.public_base_url(request),
            )
        except SendRefused as exc:
            error = _refusal(exc)
    return _answer(request, place="lead", contact=contact, error=error, done="Sent.")


@workspace_page
@require_POST
def conversation_take_over(request: HttpRequest, conversation_id: str) -> HttpResponse:
    found = selectors.conversation_get(workspace=request.workspace, conversation_id=conversation_id)
    conversation_takeover(conversation=found, user=request.user)
    return _answer(
        request,
        place=_place(request),
        conversation_id=found.pk,
        contact=found.contact,
        done="You have the conversation: the assistant stays quiet until you hand it back.",
    )


@workspace_page
@require_POST
def conversation_hand_back(request: HttpRequest, conversation_id: str) -> HttpResponse:
    found = selectors.conversation_get(workspace=request.workspace, conversation_id=conversation_id)
    services.conversation_handback(conversation=found)
    return _answer(
        request,
        place=_place(request),
        conversation_id=found.pk,
        contact=found.contact,
        done="Handed back: the assistant answers from the next message on.",
    )
