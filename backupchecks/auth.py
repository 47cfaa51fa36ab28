"""Login throttling (django-axes) helpers and the password-change pages every user can reach."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy


def client_ip(request):
    """The client address login throttling counts failures for.

    Behind the TLS proxy (`BEHIND_TLS_PROXY=true`) every request comes from the proxy, so the address is
    the last one the proxy appended to X-Forwarded-For (earlier entries are whatever the client claimed).
    Otherwise REMOTE_ADDR.
    """
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Every signed-in user (viewer, operator, admin) changes their own password here (login required)."""

    template_name = "backupchecks/password_change.html"
    success_url = reverse_lazy("password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "backupchecks/password_change_done.html"
