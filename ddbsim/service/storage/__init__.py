"""Storage nodes and what they keep: replica state, the WAL's log records,
Multi-Paxos per partition, heartbeats and leases, and healing (paper §3, §5)."""
