"""THE permission table: what every URL pattern answers to a GET by each role (issue 12, permission matrix).

`tests/security/test_permission_matrix.py` walks every URL pattern of the project and fails when one has no
row here — add a row for every new URL (other branches add their /autotask/… rows at merge).

Roles: anonymous, viewer (Viewer group), operator (Operator group), staff_admin (Admin group, is_staff),
superuser. Outcomes of a GET:

    OK           200
    REDIRECT     302 somewhere that is not a login page (the page's own behaviour)
    LOGIN        302 to /login/?next=…
    ADMIN_LOGIN  302 to /admin/login/?next=…
    DENIED       403
    POST_ONLY    405 — a state-changing view: GET never changes anything
    NOT_FOUND    404
    MOVED        301 (a permanent redirect that needs no session, e.g. /favicon.ico)

`STATE_CHANGING` names the views that change state; they must answer GET with 405 and refuse a POST without
a CSRF token (403). `CSRF_EXEMPT` is the only list of views without CSRF (token-authenticated API).
"""

OK, REDIRECT, LOGIN, ADMIN_LOGIN, DENIED, POST_ONLY, NOT_FOUND, MOVED = (
    "200",
    "redirect",
    "login",
    "admin-login",
    "403",
    "405",
    "404",
    "301",
)
ROLES = ("anonymous", "viewer", "operator", "staff_admin", "superuser")


def row(anonymous, viewer, operator, staff_admin, superuser):
    return dict(zip(ROLES, (anonymous, viewer, operator, staff_admin, superuser), strict=True))


def everyone(outcome):
    return row(outcome, outcome, outcome, outcome, outcome)


#: signed-in pages every role may read
READ = row(LOGIN, OK, OK, OK, OK)
#: admin pages only superusers may see (no role has these model permissions)
ADMIN_SUPERUSER_ONLY = row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, OK)
#: admin pages the Admin role may see
ADMIN_STAFF = row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK, OK)

EXPECTED = {
    # --- core pages -----------------------------------------------------------------------------------
    ":?favicon.ico": everyone(MOVED),  # → the static favicon.svg, for browsers that ask without a <link>
    "login": everyone(OK),
    "logout": everyone(POST_ONLY),
    "password_change": READ,
    "password_change_done": READ,
    "api:runs_ingest": everyone(POST_ONLY),  # token-authenticated JSON; GET → 405 JSON
    "customers:customer_list": READ,
    "customers:customer_detail": READ,
    "runs:run_checks": READ,
    "runs:review_runs": everyone(POST_ONLY),
    "runs:review_groups": everyone(POST_ONLY),
    "runs:run_detail": READ,
    "runs:run_ticket_number": everyone(POST_ONLY),
    "runs:run_review": everyone(POST_ONLY),
    "runs:job_detail": READ,
    # --- the integration's pages (/autotask/) ------------------------------------------------------------
    # phase 3, mapping: staff with autotask.map_company (the Admin role) only; the search is a GET (the empty
    # search box answers without an API call), the buttons are POST-only
    "autotask:company_search": row(LOGIN, DENIED, DENIED, OK, OK),
    "autotask:map_customer": everyone(POST_ONLY),
    "autotask:unmap_customer": everyone(POST_ONLY),
    "autotask:acknowledge_rename": everyone(POST_ONLY),
    "autotask:check_mapping": everyone(POST_ONLY),
    # phase 4/5: GET is the confirmation page (database only), POST acts; Operators and Admins
    "autotask:create_ticket": row(LOGIN, DENIED, OK, OK, OK),
    "autotask:resolve_ticket": row(LOGIN, DENIED, OK, OK, OK),
    # phase 6: a lookup costs an API call, so both are POST-only
    "autotask:link_lookup": everyone(POST_ONLY),
    "autotask:link_ticket": everyone(POST_ONLY),
    # issue 14, bulk actions: pages for staff and users with a ticket permission; a job is its creator's
    # (the matrix's job belongs to the operator) and staff's
    "autotask:bulk_jobs": row(LOGIN, DENIED, OK, OK, OK),
    "autotask:bulk_start": everyone(POST_ONLY),
    "autotask:bulk_job": row(LOGIN, DENIED, OK, OK, OK),
    "autotask:bulk_job_progress": row(LOGIN, DENIED, OK, OK, OK),
    "autotask:bulk_retry": everyone(POST_ONLY),
    # --- the admin site ---------------------------------------------------------------------------------
    "admin:index": ADMIN_STAFF,
    "admin:login": row(OK, OK, OK, REDIRECT, REDIRECT),  # staff are sent on to the index
    "admin:logout": row(REDIRECT, REDIRECT, REDIRECT, POST_ONLY, POST_ONLY),  # non-staff: sent away first
    "admin:password_change": ADMIN_STAFF,  # staff only; everyone else uses /password/
    "admin:password_change_done": ADMIN_STAFF,
    "admin:autocomplete": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, DENIED),  # needs query params
    "admin:jsi18n": ADMIN_STAFF,
    "admin:view_on_site": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, REDIRECT, REDIRECT),
    "admin:app_list": ADMIN_STAFF,  # /admin/runs/
    "admin:catch_all": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, NOT_FOUND, NOT_FOUND),
    # Autotask settings: a singleton (its list redirects to the one page); the buttons are POST-only.
    "admin:autotask_autotasksettings_test_connection": row(
        ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, POST_ONLY, POST_ONLY
    ),
    "admin:autotask_autotasksettings_refresh_reference": row(
        ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, POST_ONLY, POST_ONLY
    ),
    "admin:auth_user_password_change": ADMIN_SUPERUSER_ONLY,
}

#: admin model pages: (changelist, add, change, delete, history, object redirect) per model
ADMIN_MODELS = {
    "auth_group": ADMIN_SUPERUSER_ONLY,
    "auth_user": ADMIN_SUPERUSER_ONLY,
    "django_tasks_database_dbtaskresult": ADMIN_SUPERUSER_ONLY,
    "axes_accessattempt": ADMIN_STAFF,  # the Admin role unlocks logins (runs/0006)
    "axes_accesslog": ADMIN_SUPERUSER_ONLY,
    "axes_accessfailurelog": ADMIN_STAFF,
    "customers_customer": ADMIN_STAFF,
    "runs_backupjob": ADMIN_STAFF,
    "runs_run": ADMIN_STAFF,
    "runs_ingesttoken": ADMIN_STAFF,
    "autotask_autotasksettings": ADMIN_STAFF,
    "autotask_auditevent": ADMIN_STAFF,
    "autotask_autotaskticket": ADMIN_STAFF,  # read-only ticket records + Resolve / Sync actions
}
#: per-view exceptions to ADMIN_MODELS (read-only or add-less models, singletons)
ADMIN_MODEL_EXCEPTIONS = {
    # add pages of models nobody may add
    "admin:django_tasks_database_dbtaskresult_add": row(
        ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, DENIED
    ),
    "admin:axes_accessattempt_add": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, DENIED),
    "admin:axes_accesslog_add": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, DENIED),
    "admin:axes_accessfailurelog_add": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, DENIED),
    "admin:autotask_auditevent_add": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, DENIED),
    "admin:autotask_auditevent_delete": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, DENIED),
    "admin:autotask_autotaskticket_add": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, DENIED),
    "admin:autotask_autotaskticket_delete": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, DENIED),
    "admin:autotask_autotasksettings_add": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, DENIED),
    "admin:autotask_autotasksettings_delete": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, DENIED),
    "admin:axes_accessfailurelog_delete": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, OK),  # view only
    "admin:django_tasks_database_dbtaskresult_delete": row(
        ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, DENIED, DENIED
    ),
    "admin:autotask_autotasksettings_changelist": row(
        ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, REDIRECT, REDIRECT
    ),
}
ADMIN_MODEL_VIEWS = ("changelist", "add", "change", "delete", "history")

STATE_CHANGING = {
    "logout",
    "runs:review_runs",
    "runs:review_groups",
    "runs:run_ticket_number",
    "runs:run_review",
    "admin:logout",
    "admin:autotask_autotasksettings_test_connection",
    "admin:autotask_autotasksettings_refresh_reference",
    "autotask:map_customer",
    "autotask:unmap_customer",
    "autotask:acknowledge_rename",
    "autotask:check_mapping",  # stores the mapping's checked status
    "autotask:link_lookup",  # changes nothing, but costs an Autotask call: never a GET
    "autotask:link_ticket",
    "autotask:bulk_start",
    "autotask:bulk_retry",
}
#: the POST side of the matrix for the role-guarded actions (GET above only proves they are POST-only):
#: what a POST with a CSRF token answers per role. REDIRECT = accepted (done or refused with a message on
#: the page it returns to); every Autotask action is refused to viewers, mapping to everyone but Admins.
POST_EXPECTED = {
    "runs:review_groups": row(LOGIN, DENIED, REDIRECT, REDIRECT, REDIRECT),
    "autotask:map_customer": row(LOGIN, DENIED, DENIED, REDIRECT, REDIRECT),
    "autotask:unmap_customer": row(LOGIN, DENIED, DENIED, REDIRECT, REDIRECT),
    "autotask:acknowledge_rename": row(LOGIN, DENIED, DENIED, REDIRECT, REDIRECT),
    "autotask:check_mapping": row(LOGIN, DENIED, DENIED, REDIRECT, REDIRECT),
    "autotask:create_ticket": row(LOGIN, DENIED, REDIRECT, REDIRECT, REDIRECT),
    "autotask:resolve_ticket": row(LOGIN, DENIED, REDIRECT, REDIRECT, REDIRECT),
    "autotask:link_lookup": row(LOGIN, DENIED, REDIRECT, REDIRECT, REDIRECT),
    "autotask:link_ticket": row(LOGIN, DENIED, REDIRECT, REDIRECT, REDIRECT),
    "autotask:bulk_start": row(LOGIN, DENIED, REDIRECT, REDIRECT, REDIRECT),
    "autotask:bulk_retry": row(LOGIN, DENIED, REDIRECT, REDIRECT, REDIRECT),
}
CSRF_EXEMPT = {"api:runs_ingest"}


def expected(name):
    """The row for URL name `name`, or None when the table has none (the test then fails)."""
    if name in EXPECTED:
        return EXPECTED[name]
    if name in ADMIN_MODEL_EXCEPTIONS:
        return ADMIN_MODEL_EXCEPTIONS[name]
    if name.startswith("admin:"):
        for model, model_row in ADMIN_MODELS.items():
            if name == f"admin:{model}_object":
                # /admin/<app>/<model>/<id>/ only redirects to the change page (any staff member)
                return row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, REDIRECT, REDIRECT)
            for view in ADMIN_MODEL_VIEWS:
                if name == f"admin:{model}_{view}":
                    return model_row
    return None
