"""Tests of atelier/output."""
