"""The studio window (PySide6): pages, the user's actions, item models, widgets and the look."""
