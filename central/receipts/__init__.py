"""Field-cash receipts as central sees them: checking a printed receipt's signature."""
