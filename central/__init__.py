"""Central service: ingest, readings and VEE, tariffs and billing, payments, operations."""
