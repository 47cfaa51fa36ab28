from django.apps import apps
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from backupchecks.auth import PasswordChangeDoneView, PasswordChangeView

admin.site.site_header = "Backupchecks administration"
admin.site.site_title = "Backupchecks admin"
admin.site.index_title = "Settings and data"

urlpatterns = [
    # Browsers ask for /favicon.ico on pages without <link rel="icon"> (the admin): no 404 in the log.
    path("favicon.ico", lambda request: HttpResponsePermanentRedirect(static("backupchecks/favicon.svg"))),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Every user's own password (the admin's password page is for staff only).
    path("password/", PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("admin/", admin.site.urls),
    path("api/", include("runs.api_urls")),
    path("customers/", include("customers.urls")),
    path("", include("runs.urls")),
]

# Pluggable integrations add their own pages; the site works without them (tests/unit/test_without_autotask_app.py).
if apps.is_installed("integrations.autotask"):
    urlpatterns.insert(-1, path("autotask/", include("integrations.autotask.urls")))

# Error pages in the site layout (backupchecks/errors.py); 404 is Django's handler with templates/404.html.
handler403 = "backupchecks.errors.permission_denied"
handler500 = "backupchecks.errors.server_error"
