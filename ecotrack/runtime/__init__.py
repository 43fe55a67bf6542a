"""The asynchronous runtime: the engine (tasks and I/O), loadpoints, rules, sessions and snapshots."""
