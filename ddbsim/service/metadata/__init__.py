"""Routing metadata: the partition map and key hashing (paper §3, §6.6)."""
