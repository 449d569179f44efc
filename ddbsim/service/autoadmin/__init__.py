"""The control plane's placement of replicas (paper §3)."""
