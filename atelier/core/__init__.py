"""What every stage stands on: models, statuses, errors, events, translations, paths, settings, secrets and logs."""
