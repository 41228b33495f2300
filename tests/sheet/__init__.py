"""Tests of atelier/sheet."""
