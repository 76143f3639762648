"""Request-signature verification for the compatibility APIs."""
