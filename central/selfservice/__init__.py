"""Self-service for customers (seeds 001, 002): register with the customer code and a code
sent to the phone on record, bind up to five accounts with a default, and read each one."""
