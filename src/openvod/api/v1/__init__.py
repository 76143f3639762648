"""Native REST API, version 1."""
