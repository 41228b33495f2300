"""The window's verbs: its actions and menus, the gallery's review actions, the questions asked before acting."""
