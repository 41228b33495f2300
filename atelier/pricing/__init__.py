"""What a batch costs: the price table, the estimate before a run, the budget during it, and reuse that makes it $0."""
