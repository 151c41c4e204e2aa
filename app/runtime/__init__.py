"""what the hot path and the worker share: redis key names, the published records, the group-committed event
writer, the in-process hot cache and the reward rules. nothing outside this package builds a redis key, and
domain code reaches redis only through it (`Publisher`, `RuntimeStore`, `EventWriter`, `HotCache`)."""
