"""Tests of atelier/delivery."""
