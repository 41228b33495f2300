"""Atelier's Qt-free core: import, templates, pricing, providers, engine, store and CLI."""

__version__ = "0.1.0"
