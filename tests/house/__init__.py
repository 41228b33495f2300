"""The house's own rules: sizes, layers, no Qt below the studio."""
