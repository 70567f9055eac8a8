"""Local OAuth 1.0a provider built on oauthlib's server endpoints, for end-to-end tests and demos.

Run it with ``python -m demo.oauth1_provider setup ...`` and
``python -m demo.oauth1_provider serve ...``. It uses its own settings module
(``demo.oauth1_provider.settings``) and its own SQLite database, never the product's.
"""
