"""Ingest: MQTT messages from gateways into the database, idempotently."""
