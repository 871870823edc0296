"""The shell's own pages: `/` (a person's first workspace), log in and out."""

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.selectors import agencies_staffed, workspaces_for_user
from leadhub.api.errors import LimitsUnavailable, RateLimited
from leadhub.api.ratelimit import public_limit_or_raise


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Anonymous people log in (the login page links the API docs and health); everyone else
    goes to their first workspace, or learns they have none yet."""
    if not request.user.is_authenticated:
        return redirect(reverse("web:login"))
    workspace = workspaces_for_user(user=request.user).order_by("name").first()
    if workspace is not None:
        return redirect(reverse("web:leads", args=[workspace.pk]))
    if agencies_staffed(user=request.user).exists():
        return redirect(reverse("web:agency"))
    return render(request, "web/no_workspace.html")


class LoginView(auth_views.LoginView):
    """Django's login, behind the per-IP limit of public endpoints (password guessing): per
    client address (leadhub.api.proxies), refused while the cache is down."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        try:
            # An anonymous write: with the cache down it is refused (503), not left unlimited.
            public_limit_or_raise(request, group="login", write=True)
        except (RateLimited, LimitsUnavailable) as exc:
            response = render(
                request, self.template_name, {"form": self.get_form(), "limited": exc.detail}, status=exc.status_code
            )
            response["Retry-After"] = str(exc.wait)
            return response
        return super().post(request, *args, **kwargs)


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule since 5.0): a link cannot log anyone out."""

    next_page = "web:login"
