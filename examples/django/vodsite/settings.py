"""Settings of the example site. Everything that differs between machines comes from the environment:

    OPENVOD_SERVER           OpenVOD's address, as the browser and this site reach it (http://127.0.0.1:8080)
    OPENVOD_SECRET_ID        the app's key pair (the pair ``openvod serve`` printed, or ``openvod keys create``)
    OPENVOD_SECRET_KEY
    OPENVOD_CALLBACK_SECRET  the push-callback secret (``python manage.py set_callback URL`` prints it);
                             unset, the callback receiver refuses every request
    OPENVOD_PROCEDURE        a task flow to name in upload signatures (optional; it must exist)
    OPENVOD_WAIT_SECONDS     how long GetVideoResponse waits for its task (120)
    AXIOS_DIST               the folder holding axios.js (``npm install`` here puts it in node_modules/axios/dist)
    DJANGO_SECRET_KEY, DJANGO_DEBUG, DJANGO_ALLOWED_HOSTS, DJANGO_DATABASE (an SQLite file)
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"set {name} in the environment (see examples/django/README.md, step 1)")
    return value


OPENVOD_SERVER = os.environ.get("OPENVOD_SERVER", "http://127.0.0.1:8080").rstrip("/")
OPENVOD_SECRET_ID = _required("OPENVOD_SECRET_ID")
OPENVOD_SECRET_KEY = _required("OPENVOD_SECRET_KEY")
OPENVOD_CALLBACK_SECRET = os.environ.get("OPENVOD_CALLBACK_SECRET", "")
OPENVOD_PROCEDURE = os.environ.get("OPENVOD_PROCEDURE", "")
OPENVOD_WAIT_SECONDS = float(os.environ.get("OPENVOD_WAIT_SECONDS", "120"))
AXIOS_DIST = Path(os.environ.get("AXIOS_DIST", BASE_DIR / "node_modules" / "axios" / "dist"))

DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("set DJANGO_SECRET_KEY when DJANGO_DEBUG is not 1")
    SECRET_KEY = "django-insecure-example-only"  # noqa: S105 - development default, refused above in production
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "videos",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "vodsite.urls"
WSGI_APPLICATION = "vodsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DATABASE", str(BASE_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "static/"
# axios comes from its npm package (the seed loaded it from cdnjs): served as /static/axios/axios.js.
STATICFILES_DIRS = [("axios", AXIOS_DIST)]

USE_TZ = True
TIME_ZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"videos": {"handlers": ["console"], "level": "INFO"}},
}
