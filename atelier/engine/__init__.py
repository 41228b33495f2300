"""Running planned jobs: the engine, its lanes, one job's run, copying, recovery, rate limits and the engine thread."""
