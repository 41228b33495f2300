"""The studio's pages, one module each: a widget with its own signals and a small public API.
``atelier.studio.main_window`` builds them and wires them together in one place."""
