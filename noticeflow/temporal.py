"""Connecting to Temporal, and preparing a namespace for noticeflow.

Every client noticeflow makes (worker, API, CLI, tests against a running cluster) comes from
:func:`connect`, so every one of them seals payloads with the same codec.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.common import HeaderCodecBehavior, SearchAttributeIndexedValueType, SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from noticeflow.codec import data_converter
from noticeflow.settings import Settings
from workflows import search_attributes

#: Type names as the Temporal CLI and server configuration spell them (``--search-attribute``).
SEARCH_ATTRIBUTE_TYPE_NAMES: dict[SearchAttributeIndexedValueType, str] = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}


class TemporalSetupError(Exception):
    """The cluster cannot host noticeflow as it is: the message says what to change."""


async def connect(settings: Settings) -> Client:
    """A client for ``settings.temporal_address`` / ``temporal_namespace`` with noticeflow's data
    converter; over mutual TLS when a client certificate is configured. Headers (the API's actor
    assertions) are sealed by the codec as payloads are."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        tls=tls_config(settings),
        header_codec_behavior=HeaderCodecBehavior.CODEC,
    )


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The client's TLS: mutual TLS with ``temporal_tls_cert``/``temporal_tls_key`` (and the
    frontend's CA), plain TLS with only a CA, none otherwise (the dev server)."""
    cert, key, ca = settings.temporal_tls_cert, settings.temporal_tls_key, settings.temporal_tls_ca
    if (cert is None) != (key is None):
        raise TemporalSetupError("NOTICEFLOW_TEMPORAL_TLS_CERT and NOTICEFLOW_TEMPORAL_TLS_KEY go together: set both or neither")
    if cert is None and ca is None:
        return False
    try:
        return TLSConfig(
            server_root_ca_cert=ca.read_bytes() if ca else None,
            domain=settings.temporal_tls_server_name,
            client_cert=cert.read_bytes() if cert else None,
            client_private_key=key.read_bytes() if key else None,
        )
    except OSError as exc:
        raise TemporalSetupError(f"cannot read a Temporal TLS file: {exc}") from None


def search_attribute_flags(keys: Sequence[SearchAttributeKey[Any]] = search_attributes.ALL) -> list[str]:
    """``--search-attribute Name=Type`` arguments for ``temporal server start-dev``."""
    flags: list[str] = []
    for key in keys:
        flags += ["--search-attribute", f"{key.name}={SEARCH_ATTRIBUTE_TYPE_NAMES[key.indexed_value_type]}"]
    return flags


@dataclass(frozen=True)
class SearchAttributeSetup:
    namespace: str
    added: tuple[str, ...]
    already_present: tuple[str, ...]


async def register_search_attributes(
    client: Client,
    namespace: str,
    keys: Sequence[SearchAttributeKey[Any]] = search_attributes.ALL,
) -> SearchAttributeSetup:
    """Add noticeflow's custom search attributes to ``namespace``; those already there are kept.

    Safe to run any number of times. An attribute that exists with another type is an error:
    Temporal cannot change a search attribute's type, and workflows would fail to upsert it.
    """
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise TemporalSetupError(
                f"namespace {namespace!r} does not exist on the cluster: create it first "
                f"(temporal operator namespace create --namespace {namespace}) and run setup again"
            ) from None
        raise
    existing = await _custom_attributes(client, namespace)
    wanted = {key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in keys}
    conflicts = [
        f"{name} is {IndexedValueType.Name(existing[name])}, noticeflow needs {IndexedValueType.Name(kind)}"
        for name, kind in wanted.items()
        if name in existing and existing[name] != kind
    ]
    if conflicts:
        raise TemporalSetupError(
            f"search attributes in namespace {namespace!r} have the wrong type: "
            + "; ".join(conflicts)
            + ". Remove them (temporal operator search-attribute remove) and run setup again."
        )
    missing = {name: kind for name, kind in wanted.items() if name not in existing}
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
        except RPCError as exc:
            # Another process added them between our list and our add: what matters is the result.
            if exc.status != RPCStatusCode.ALREADY_EXISTS:
                raise
        now = await _custom_attributes(client, namespace)
        absent = sorted(name for name in missing if name not in now)
        if absent:
            raise TemporalSetupError(
                f"the cluster accepted but does not list search attributes {', '.join(absent)} "
                f"in namespace {namespace!r}"
            )
    return SearchAttributeSetup(
        namespace=namespace,
        added=tuple(sorted(missing)),
        already_present=tuple(sorted(name for name in wanted if name not in missing)),
    )


async def _custom_attributes(client: Client, namespace: str) -> dict[str, IndexedValueType.ValueType]:
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(response.custom_attributes)
