"""Tests of atelier/core."""
