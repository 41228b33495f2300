"""A spreadsheet or a batch config → planned jobs: reading sheets, shop conventions, templates, variations, rows and inputs."""
