"""The job engine: a durable queue of steps with leases, a scheduler and executors."""
