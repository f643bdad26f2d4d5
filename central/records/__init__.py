"""Customer records: customers and their history, meters and exchanges, routes and reading
schedules, contracts, manual readings and corrections, Excel import and export."""
