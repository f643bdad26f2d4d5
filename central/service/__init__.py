"""Customer service (seeds 000, 002, 003): applications tracked by number, fault reports,
work orders with their history and files, and outages by area."""
