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
* **store-bound** -- :class:`SegmentPut`, :class:`ArchiveFetch` and :class:`ReferenceRequest`
  (archiver or scrub -> object store): in
  :data:`ddbsim.service.object_store.STORE_HANDLERS`.
* **routing metadata** -- :class:`RoutingTable` and :class:`MemDSAnswer`
  are router-bound too (the router hands them to its cache:
  :data:`~ddbsim.service.routing.cache_bimodal.BIMODAL_HANDLERS`,
  :data:`~ddbsim.service.routing.cache_constant_work.CONSTANT_WORK_HANDLERS`);
  :class:`RoutingDownload` goes to a metadata-table server
  (:data:`~ddbsim.service.metadata.metadata_table.METADATA_HANDLERS`),
  :class:`MemDSLookup`, :class:`RouteUpdate` and :class:`RouteSplit` to a MemDS server
  (:data:`~ddbsim.service.metadata.memds.MEMDS_HANDLERS`).
* **GAC-bound** -- :class:`TokenRequest` (router -> GAC server): in
  :data:`ddbsim.service.admission.gac.GAC_HANDLERS`.
* **storage-bound** -- every other kind: in
  :data:`ddbsim.service.storage.paxos.HANDLERS` (handed to the partition's
  replica) or :data:`ddbsim.service.storage.node.NODE_HANDLERS` (the node
  itself); ``StorageNode.receive`` looks there, in that order, and a kind
  in neither is a ``KeyError`` at run time.

A new message kind counts as storage-bound until it is listed here as
client-, router- or store-bound, so it fails this test until someone handles it.
"""
from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping

from ddbsim.service import messages
from ddbsim.service.admission.gac import GAC_HANDLERS
from ddbsim.service.messages import (
    ArchiveFetch,
    ClientReply,
    ClientRequest,
    GroupMessage,
    MemDSAnswer,
    MemDSLookup,
    Message,
    ReferenceRequest,
    RouteSplit,
    RouteUpdate,
    RoutingDownload,
    RoutingTable,
    SegmentPut,
    StorageReply,
    TokenGrant,
    TokenRequest,
)
from ddbsim.service.metadata.memds import MEMDS_HANDLERS
from ddbsim.service.metadata.metadata_table import METADATA_HANDLERS
from ddbsim.service.object_store import STORE_HANDLERS
from ddbsim.service.routing.cache_bimodal import BIMODAL_HANDLERS
from ddbsim.service.routing.cache_constant_work import CONSTANT_WORK_HANDLERS
from ddbsim.service.routing.router import ROUTER_HANDLERS
from ddbsim.service.storage.node import NODE_HANDLERS
from ddbsim.service.storage.paxos import HANDLERS as MEMBER_HANDLERS

ABSTRACT = {Message, GroupMessage}
CLIENT_BOUND = {ClientReply}
ROUTER_BOUND = {ClientRequest, StorageReply, RoutingTable, MemDSAnswer, TokenGrant}
STORE_BOUND = {SegmentPut, ArchiveFetch, ReferenceRequest}
METADATA_BOUND = {RoutingDownload}
MEMDS_BOUND = {MemDSLookup, RouteUpdate, RouteSplit}
GAC_BOUND = {TokenRequest}


def message_classes() -> set[type]:
    """Every concrete message class of :mod:`ddbsim.service.messages`."""
    return {cls for _name, cls in inspect.getmembers(messages, inspect.isclass)
            if issubclass(cls, Message) and cls.__module__ == messages.__name__
            and cls not in ABSTRACT}


def storage_bound() -> set[type]:
    return (message_classes() - CLIENT_BOUND - ROUTER_BOUND - STORE_BOUND - METADATA_BOUND
            - MEMDS_BOUND - GAC_BOUND)


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


def test_every_kind_the_object_store_receives_is_handled() -> None:
    assert unhandled(STORE_BOUND, STORE_HANDLERS) == set()
    assert set(STORE_HANDLERS) <= STORE_BOUND


def test_every_kind_a_metadata_server_receives_is_handled() -> None:
    assert unhandled(METADATA_BOUND, METADATA_HANDLERS) == set()
    assert unhandled(MEMDS_BOUND, MEMDS_HANDLERS) == set()
    assert set(METADATA_HANDLERS) <= METADATA_BOUND and set(MEMDS_HANDLERS) <= MEMDS_BOUND
    # the routing answers a router hands on reach the cache that asked
    assert unhandled({RoutingTable}, BIMODAL_HANDLERS) == set()
    assert unhandled({MemDSAnswer}, CONSTANT_WORK_HANDLERS) == set()


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
    assert (CLIENT_BOUND | ROUTER_BOUND | STORE_BOUND | METADATA_BOUND | MEMDS_BOUND | GAC_BOUND
            | storage_bound() == message_classes())
    bounds = [CLIENT_BOUND, ROUTER_BOUND, STORE_BOUND, METADATA_BOUND, MEMDS_BOUND, GAC_BOUND]
    assert all(not a & b for i, a in enumerate(bounds) for b in bounds[i + 1:])


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
