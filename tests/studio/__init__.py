"""Tests of atelier/studio: the window, offscreen and through AT-SPI."""
