"""Value objects, validation and state machines. Nothing here does I/O."""
