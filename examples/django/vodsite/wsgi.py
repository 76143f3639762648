"""WSGI entry point: ``gunicorn vodsite.wsgi`` (run from examples/django)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vodsite.settings")
application = get_wsgi_application()
