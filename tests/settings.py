"""Settings for the test suite: the real settings with throwaway keys, unless the environment sets them.

`DATABASE_URL` still selects the database, so CI runs the same suite on SQLite and PostgreSQL.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("FERNET_KEYS", "tests-only-fernet-key-1")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Tests must never see a developer's Autotask override from .env.
os.environ["AUTOTASK_ZONE_INFO_URL"] = os.environ.get("TEST_AUTOTASK_ZONE_INFO_URL", "")

from backupchecks.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
