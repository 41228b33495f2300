"""Tests of atelier/engine."""
