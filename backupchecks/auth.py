"""Login throttling (django-axes) helpers, the password-change pages every user can reach, and the
`PermissionRequired` refusal the 403 page explains."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
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


class PermissionRequired(PermissionDenied):
    """`PermissionDenied` that names the permissions ("app_label.codename") the refused request needed.

    Raise it instead of a bare `PermissionDenied` so the 403 page (`backupchecks.errors.permission_denied`)
    can tell the user which role grants them. `message` (optional) is shown on that page as written: keep it
    operator-readable and free of secrets.
    """

    def __init__(self, *permissions, message=""):
        self.permissions = tuple(permissions)
        super().__init__(message)


def require_perms(user, *permissions):
    """Raise `PermissionRequired(*permissions)` unless `user` has every one of them."""
    if not user.has_perms(permissions):
        raise PermissionRequired(*permissions)
