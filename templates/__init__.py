"""The Jinja2 templates: reply mails (``reply.*.j2``) and the review pages (``pages/``).

A package only so the templates ship in the wheel and are found with ``importlib.resources``
wherever consult is installed (``consult.templating`` loads them); it holds no code.
"""
