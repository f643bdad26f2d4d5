"""Central's REST API: thin routers over the plain modules (ingest, tariffs, records, billing)."""
