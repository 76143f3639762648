"""Wire-compatible APIs of other VOD services, translated onto the native services."""
