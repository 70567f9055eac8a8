"""Social sign-in for single-page and mobile apps, served by Django REST Framework."""

__version__ = "0.1.0"
