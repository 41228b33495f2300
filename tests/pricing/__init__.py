"""Tests of atelier/pricing."""
