"""Gateway identities: enrollment (broker credentials, receipt keys), central's command key."""
