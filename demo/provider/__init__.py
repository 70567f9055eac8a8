"""Local OpenID Connect provider built on django-oauth-toolkit, for end-to-end tests and demos.

Run it with ``python -m demo.provider setup ...`` and ``python -m demo.provider serve ...``.
It uses its own settings module (``demo.provider.settings``) and its own SQLite database,
never the product's.
"""
