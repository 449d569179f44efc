"""Every message kind has a handler where it is received.

The classes are found by introspecting :mod:`ddbsim.service.messages`: every
:class:`~ddbsim.service.messages.Message` subclass defined there, except the
abstract bases.  Where each kind goes:

* **client-bound** -- :class:`ClientReply` (router -> client).  No service
  component receives it: the lab's clients do,
  :meth:`ddbsim.lab.workload.Client.receive` and
  :meth:`ddbsim.lab.experiment._StrongReader.receive` (which both ignore anything
  else).
* **router-bound** -- :class:`ClientRequest` (client -> router),
  :class:`StorageReply` (storage node -> router) and :class:`TokenGrant`
  (GAC server -> router): in
  :data:`ddbsim.service.routing.router.ROUTER_HANDLERS`.
* **GAC-bound** -- :class:`TokenRequest` (router -> GAC server): in
  :data:`ddbsim.service.admission.gac.GAC_HANDLERS`.
* **storage-bound** -- every other kind: in
  :data:`ddbsim.service.storage.paxos.HANDLERS` (handed to the partition's
  replica) or :data:`ddbsim.service.storage.node.NODE_HANDLERS` (the node
  itself); ``StorageNode.receive`` looks there, in that order, and a kind
  in neither is a ``KeyError`` at run time.

A new message kind counts as storage-bound until it is listed here as
client- or router-bound, so it fails this test until someone handles it.
"""
from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping

from ddbsim.service import messages
from ddbsim.service.admission.gac import GAC_HANDLERS
from ddbsim.service.messages import (
    ClientReply,
    ClientRequest,
    GroupMessage,
    Message,
    StorageReply,
    TokenGrant,
    TokenRequest,
)
from ddbsim.service.routing.router import ROUTER_HANDLERS
from ddbsim.service.storage.node import NODE_HANDLERS
from ddbsim.service.storage.paxos import HANDLERS as MEMBER_HANDLERS

ABSTRACT = {Message, GroupMessage}
CLIENT_BOUND = {ClientReply}
ROUTER_BOUND = {ClientRequest, StorageReply, TokenGrant}
GAC_BOUND = {TokenRequest}


def message_classes() -> set[type]:
    """Every concrete message class of :mod:`ddbsim.service.messages`."""
    return {cls for _name, cls in inspect.getmembers(messages, inspect.isclass)
            if issubclass(cls, Message) and cls.__module__ == messages.__name__
            and cls not in ABSTRACT}


def storage_bound() -> set[type]:
    return message_classes() - CLIENT_BOUND - ROUTER_BOUND - GAC_BOUND


def unhandled(classes: Iterable[type], *tables: Mapping[type, object]) -> set[type]:
    """The classes that none of ``tables`` has a handler for."""
    return {cls for cls in classes if not any(cls in table for table in tables)}


def test_the_message_classes_are_found() -> None:
    found = message_classes()
    assert len(found) >= 20
    assert {ClientReply, ClientRequest, StorageReply, messages.Accept, messages.Heartbeat,
            messages.Bootstrap} <= found
    assert not found & ABSTRACT
    # The abstract bases are exactly the classes others derive from: a new
    # base would be mistaken for a message kind (or a kind for a base).
    bases = {base for cls in found | ABSTRACT for base in cls.__mro__[1:]
             if base.__module__ == messages.__name__}
    assert bases == ABSTRACT


def test_every_kind_a_storage_node_receives_is_handled() -> None:
    assert unhandled(storage_bound(), MEMBER_HANDLERS, NODE_HANDLERS) == set()


def test_every_kind_a_router_receives_is_handled() -> None:
    assert unhandled(ROUTER_BOUND, ROUTER_HANDLERS) == set()


def test_every_kind_a_gac_server_receives_is_handled() -> None:
    assert unhandled(GAC_BOUND, GAC_HANDLERS) == set()
    assert set(GAC_HANDLERS) <= GAC_BOUND


def test_the_tables_handle_only_what_they_should() -> None:
    # the node never sees a kind twice (paxos.HANDLERS would win silently)
    assert set(MEMBER_HANDLERS) & set(NODE_HANDLERS) == set()
    # every key is a concrete message kind, sent to that component
    assert set(MEMBER_HANDLERS) | set(NODE_HANDLERS) <= storage_bound()
    assert set(ROUTER_HANDLERS) <= ROUTER_BOUND
    # replicas get only messages about one partition (they carry pid and ballot)
    assert all(issubclass(cls, GroupMessage) for cls in MEMBER_HANDLERS)
    # every kind is bound somewhere, once
    assert CLIENT_BOUND | ROUTER_BOUND | GAC_BOUND | storage_bound() == message_classes()
    assert not CLIENT_BOUND & ROUTER_BOUND and not GAC_BOUND & (CLIENT_BOUND | ROUTER_BOUND)


def test_the_check_fails_on_a_table_with_an_entry_removed() -> None:
    """The checks above can fail: a copy of each table with one entry
    removed, or a new message kind nobody handles, is caught."""
    for table, others in ((NODE_HANDLERS, [MEMBER_HANDLERS]), (MEMBER_HANDLERS, [NODE_HANDLERS])):
        for cls in table:
            short = {k: v for k, v in table.items() if k is not cls}
            assert unhandled(storage_bound(), short, *others) == {cls}
    for cls in ROUTER_HANDLERS:
        short = {k: v for k, v in ROUTER_HANDLERS.items() if k is not cls}
        assert unhandled(ROUTER_BOUND, short) == {cls}

    class Gossip(Message):  # a kind someone added and forgot to handle
        __slots__ = ()

    assert unhandled(storage_bound() | {Gossip}, MEMBER_HANDLERS, NODE_HANDLERS) == {Gossip}
