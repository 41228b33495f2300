"""Tests of atelier/providers, each against its wire-accurate fake (tests/fakes)."""
