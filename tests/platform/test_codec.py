"""Payload encryption: AES-256-GCM over every payload, key ids in metadata, rotation."""

from __future__ import annotations

import base64
import os
import stat
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from noticeflow.codec import (
    ENCODING,
    KEY_ID_METADATA,
    CodecKeyError,
    CodecKeyring,
    EncryptionCodec,
    PayloadDecryptionError,
    UnknownCodecKeyError,
    data_converter,
    generate_key,
    key_file,
    key_id_for,
    load_keyring,
    rotate_key_file,
)
from noticeflow.settings import Settings
from tests.platform.sample_workflow import (
    ConsumerRecord,
    EchoConsumerWorkflow,
    FailingConsumerWorkflow,
    Receipt,
    count_characters,
    reject_record,
)

#: Looks like NPI on purpose: a name and an SSN that must never reach Temporal in the clear.
MARKER_NAME = "Zebediah Quarrington-Npi"
MARKER_SSN = "078-05-1120"


def _settings(home: Path, **kw: Any) -> Settings:
    return Settings(home=home, _env_file=None, **kw)  # type: ignore[call-arg]


def _plain(data: bytes = b'{"ssn": "078-05-1120"}') -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def _codec(*keys: bytes) -> EncryptionCodec:
    return EncryptionCodec(CodecKeyring(keys))


async def test_round_trip_restores_metadata_and_data() -> None:
    codec = _codec(generate_key())
    payloads = [_plain(), Payload(metadata={"encoding": b"binary/null"}), _plain(os.urandom(4096))]
    encoded = await codec.encode(payloads)
    assert all(p.metadata["encoding"] == ENCODING for p in encoded)
    assert all(p.metadata[KEY_ID_METADATA] == codec.key_id.encode() for p in encoded)
    assert all(b"078-05-1120" not in p.SerializeToString() for p in encoded)
    assert await codec.decode(encoded) == payloads


async def test_same_payload_encrypts_differently_each_time() -> None:
    codec = _codec(generate_key())
    first, second = await codec.encode([_plain(), _plain()])
    assert first.data != second.data


async def test_pydantic_models_round_trip_through_data_converter(tmp_path: Path) -> None:
    converter = data_converter(_settings(tmp_path))
    record = ConsumerRecord(name=MARKER_NAME, ssn=MARKER_SSN, state="TN")
    [payload] = await converter.encode([record])
    assert MARKER_SSN.encode() not in payload.SerializeToString()
    assert await converter.decode([payload], [ConsumerRecord]) == [record]


@pytest.mark.parametrize("position", [0, 12, -1])
async def test_tampered_ciphertext_is_rejected(position: int) -> None:
    codec = _codec(generate_key())
    [sealed] = await codec.encode([_plain()])
    data = bytearray(sealed.data)
    data[position] ^= 0x01
    sealed.data = bytes(data)
    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await codec.decode([sealed])


async def test_truncated_ciphertext_is_rejected() -> None:
    codec = _codec(generate_key())
    [sealed] = await codec.encode([_plain()])
    sealed.data = sealed.data[:8]
    with pytest.raises(PayloadDecryptionError, match="truncated"):
        await codec.decode([sealed])


async def test_relabelled_key_id_is_rejected_not_decrypted_under_the_other_key() -> None:
    first, second = generate_key(), generate_key()
    [sealed] = await _codec(first).encode([_plain()])
    sealed.metadata[KEY_ID_METADATA] = key_id_for(second).encode()
    with pytest.raises(PayloadDecryptionError):
        await _codec(first, second).decode([sealed])


async def test_unknown_key_id_is_named_in_the_error() -> None:
    retired = generate_key()
    [sealed] = await _codec(retired).encode([_plain()])
    current = _codec(generate_key())
    with pytest.raises(UnknownCodecKeyError) as caught:
        await current.decode([sealed])
    assert caught.value.key_id == key_id_for(retired)
    assert key_id_for(retired) in str(caught.value)
    assert current.key_id in str(caught.value)


async def test_rotation_encrypts_with_newest_and_decrypts_with_any() -> None:
    old, new = generate_key(), generate_key()
    [from_before] = await _codec(old).encode([_plain(b'"before"')])
    rotated = _codec(new, old)
    [from_after] = await rotated.encode([_plain(b'"after"')])
    assert from_after.metadata[KEY_ID_METADATA] == key_id_for(new).encode()
    assert [p.data for p in await rotated.decode([from_before, from_after])] == [b'"before"', b'"after"']


async def test_plaintext_payloads_pass_through_decode() -> None:
    assert await _codec(generate_key()).decode([_plain()]) == [_plain()]


def test_key_from_setting_accepts_several_keys_newest_first(tmp_path: Path) -> None:
    new, old = generate_key(), generate_key()
    value = f"{base64.b64encode(new).decode()}, {base64.b64encode(old).decode()}"
    keyring = load_keyring(_settings(tmp_path, codec_key=value))
    assert keyring.keys == (new, old)
    assert not key_file(_settings(tmp_path)).exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [("not base64!", "not valid base64"), (base64.b64encode(b"short").decode(), "must be 32 bytes")],
)
def test_bad_key_setting_names_the_variable(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(CodecKeyError, match=f"NOTICEFLOW_CODEC_KEY: .*{message}"):
        load_keyring(_settings(tmp_path, codec_key=value))


def test_key_file_is_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    first = load_keyring(settings)
    path = key_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(settings) == first


def test_processes_starting_together_share_one_new_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with ThreadPoolExecutor(max_workers=8) as pool:
        keyrings = list(pool.map(lambda _: load_keyring(settings), range(32)))
    assert len({k.keys for k in keyrings}) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["codec.key"]


def test_rotating_the_key_file_keeps_earlier_keys_for_decryption(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    before = load_keyring(settings)
    after = rotate_key_file(settings)
    assert after.keys[1:] == before.keys
    assert load_keyring(settings) == after
    assert stat.S_IMODE(key_file(settings).stat().st_mode) == 0o600


# -- what Temporal stores --------------------------------------------------------------------


async def _raw_history(client: Client, workflow_id: str) -> bytes:
    request = GetWorkflowExecutionHistoryRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
    )
    history = b""
    while True:
        response = await client.workflow_service.get_workflow_execution_history(request)
        history += response.history.SerializeToString()
        if not response.next_page_token:
            return history
        request.next_page_token = response.next_page_token


def _with_converter(client: Client, converter: DataConverter) -> Client:
    config = client.config()
    config["data_converter"] = converter
    return Client(**config)


async def test_history_on_the_server_holds_no_plaintext_npi(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = time_skipping_env.client
    record = ConsumerRecord(name=MARKER_NAME, ssn=MARKER_SSN, state="TN")
    workflow_id = f"codec-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, workflows=[EchoConsumerWorkflow], activities=[count_characters]):
        result = await client.execute_workflow(EchoConsumerWorkflow.run, record, id=workflow_id, task_queue=task_queue)
    assert result == Receipt(state="TN", characters=len(MARKER_NAME) + len(MARKER_SSN))
    history = await _raw_history(client, workflow_id)
    assert ENCODING in history
    assert MARKER_SSN.encode() not in history
    assert MARKER_NAME.encode() not in history
    assert b'"TN"' not in history


async def test_failure_messages_quoting_npi_are_encrypted_too(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = time_skipping_env.client
    record = ConsumerRecord(name=MARKER_NAME, ssn=MARKER_SSN, state="TN")
    workflow_id = f"codec-failure-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, workflows=[FailingConsumerWorkflow], activities=[reject_record]):
        with pytest.raises(WorkflowFailureError) as caught:
            await client.execute_workflow(FailingConsumerWorkflow.run, record, id=workflow_id, task_queue=task_queue)
    activity_error = caught.value.cause
    assert isinstance(activity_error, ActivityError)
    assert isinstance(activity_error.cause, ApplicationError)
    assert MARKER_SSN in activity_error.cause.message  # readable with the key...
    history = await _raw_history(client, workflow_id)
    assert MARKER_SSN.encode() not in history  # ...and not without it
    assert MARKER_NAME.encode() not in history


async def test_without_the_codec_the_same_history_would_hold_the_npi(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    # The control for the two tests above: the history reader does see plaintext when it is there.
    client = _with_converter(time_skipping_env.client, pydantic_data_converter)
    record = ConsumerRecord(name=MARKER_NAME, ssn=MARKER_SSN, state="TN")
    workflow_id = f"codec-control-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, workflows=[EchoConsumerWorkflow], activities=[count_characters]):
        await client.execute_workflow(
            EchoConsumerWorkflow.run,
            record,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    assert MARKER_SSN.encode() in await _raw_history(client, workflow_id)
