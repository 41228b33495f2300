"""Atelier: a batch studio for AI image generation, laid out by stage (core → sheet → pricing → engine → output/delivery → cli, studio)."""

__version__ = "0.1.0"
