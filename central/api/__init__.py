"""Central's REST API: thin routers over the plain modules (tariffs, records, billing, VEE)."""
