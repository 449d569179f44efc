"""Request routers: the front door, and the seam to the partition map (paper §3, §6.6)."""
