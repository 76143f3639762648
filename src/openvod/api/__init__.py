"""HTTP transports: the native REST API, tus uploads, object serving."""
