"""The dashboard's API keys page (admins only, SPEC §3): the list, a new key whose secret is
shown once, and revocation. The same services as the admin and `createkey`."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from leadhub.web.access import workspace_page

from . import selectors, services
from .scopes import SCOPES


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    # Least privilege: nothing is ticked until the person ticks it (SPEC §3).
    scopes = forms.MultipleChoiceField(choices=list(SCOPES.items()), widget=forms.CheckboxSelectMultiple)


def _page(request: HttpRequest, form: ApiKeyForm, *, new_key=None, status: int = 200) -> HttpResponse:
    return render(
        request,
        "accounts/keys.html",
        {
            "section": "keys",
            "form": form,
            "keys": selectors.api_keys_list(workspace=request.workspace),
            "new_key": new_key,
            "scopes": SCOPES,
        },
        status=status,
    )


@workspace_page(admin=True)
@require_http_methods(["GET", "POST"])
def keys(request: HttpRequest) -> HttpResponse:
    """GET lists; POST creates and answers the page with the secret, this once (it is not
    stored: only its hash is, so a reload cannot show it again)."""
    if request.method == "GET":
        return _page(request, ApiKeyForm())
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    new = services.api_key_create(
        workspace=request.workspace,
        name=form.cleaned_data["name"],
        scopes=form.cleaned_data["scopes"],
        created_by=request.user,
    )
    response = _page(request, ApiKeyForm(), new_key=new)
    response["Cache-Control"] = "no-store"  # the secret must not stay in any cache
    return response


@workspace_page(admin=True)
@require_POST
def key_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    api_key = selectors.api_key_get(workspace=request.workspace, api_key_id=key_id)
    services.api_key_revoke(api_key=api_key)
    messages.success(request, f"Key {api_key.name} ({api_key.prefix}…) is revoked: it stops working at once.")
    return redirect(reverse("web:keys", args=[request.workspace.pk]))
