"""REST routes: thin; the logic lives in plain modules."""
