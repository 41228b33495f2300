"""What a run leaves: images with metadata, versions, reports and exports (CSV, ZIP hand-off, Shopify CSV)."""
