"""Tests of atelier/store."""
