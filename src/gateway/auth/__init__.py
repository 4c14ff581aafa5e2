"""Authentication (API keys, forwarded client certificates) and authorisation of callers."""
