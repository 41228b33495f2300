"""How the window looks in the language in force: theme, fonts, icons, text-fitting widths, dates, Qt's own words."""
