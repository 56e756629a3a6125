"""The library: shared folders, the only path resolution from a request to a file, listings."""
