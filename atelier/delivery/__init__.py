"""Delivery: images go where the shop needs them (S3-compatible storage, webhooks, Slack, a CMS,
Shopify), through the store's outbox (``atelier.store.deliveries``) and the ``Courier``."""
