"""Gunicorn entry point: ``gunicorn wsgi:app``."""

from timebank import create_app
from timebank.translations import ensure_compiled

ensure_compiled()
app = create_app()
