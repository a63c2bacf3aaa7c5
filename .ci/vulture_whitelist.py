"""Names vulture cannot see used (make lint runs vulture with this file). Each group says why.

Framework hooks and fields read by templates or other libraries are listed here; anything
that is really dead goes out of the code instead.
"""

# ruff: noqa: B018, F821
# pydantic-settings and SQLAlchemy read these by name
_.model_config
_.config_file
_.settings_customise_sources
_.dotenv_settings
_.file_secret_settings
_.impl
_.cache_ok
_.process_bind_param
_.dialect
_._pragmas  # a SQLAlchemy "connect" event listener (db/engine.py)

# aiosmtpd, html.parser and http.server call these hooks
_.handle_RCPT
_.handle_DATA
_.rcpt_options
_.handle_startendtag
_.handle_endtag
_.handle_data
_.log_message
# email.message.Message attributes the MIME tree fills for the stdlib's API
_.preamble
_.epilogue

# dispatched by name: getattr(self, f"_{det.kind}") in consult/kb/build.py
_._mue
_._aoc
_._hcpcs
_._cpt
_._mcd_documents
_._mcd_article
_._mcd_lcd

# dataclass fields read by templates (templates/pages/*.html) or kept as data
_.subject_html
_.quoted_html
_.answered_at
_.applies_to
_.author_name

# prometheus-client calls a custom collector's collect()
_.collect

# pytest reads these by name; uvicorn's server flag
_.pytest_plugins
_.pytest_collection_modifyitems
_.pytestmark
_.should_exit

# table columns written by Core statements (workers/leases.py), kept for who-held-what questions
_.acquired_at
