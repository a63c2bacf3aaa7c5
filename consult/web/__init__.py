"""The review web app (FastAPI + Jinja2 templates in templates/pages)."""
