"""The gateway's print queue and its workers."""
