"""Device protocols: pure codecs and thin async transports."""
