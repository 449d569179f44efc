"""DynamoDB itself, laid out like its architecture figure.

Request routers, the partition map, storage nodes and the Multi-Paxos
replication groups they host, healing, and the hooks observation uses.
``service`` imports ``world`` and never ``lab``.
"""
from __future__ import annotations

from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.service import Service

__all__ = ["Service", "ServiceHooks"]
