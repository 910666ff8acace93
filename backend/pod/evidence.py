"""The evidence bundle of a shipment and its offline verifier.

A bundle is one JSON document (`evidence.json`): the shipment, every stored event with its link
in the audit chain, the PODs, the blobs they name, and `content_sha256` over all of it. The zip
form adds the blob bytes as `blobs/<sha256>`. `verify_bundle` needs nothing but the file: it
recomputes every chain link, the content digest and every included blob's hash, checks each POD
against the `delivered` event it came from, and names whatever does not match.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from backend.pod.chain import EVENT_FIELDS, GENESIS, canonical_event, link

FORMAT = "lastmile-evidence/1"
BUNDLE_NAME = "evidence.json"
CHAIN_RULE = "chain_hash[n] = sha256(chain_hash[n-1] || canonical(event[n])); chain_hash[0] = 0^32"
# POD fields copied from the delivered event's data: they must agree with the chained event.
POD_FROM_DATA = ("handoff", "recipient_name", "signature_sha256", "photo_sha256s")


def build_bundle(
    *,
    shipment: dict[str, Any],
    events: list[Mapping[str, Any]],
    pods: list[dict[str, Any]],
    blobs: list[dict[str, Any]],
    unsealed_events: int,
    generated_at: str,
) -> dict[str, Any]:
    """`events` in chain order with `chain_seq` and `chain_hash` (bytes) as stored."""
    listed = [
        canonical_event(e) | {"chain_seq": e["chain_seq"], "chain_hash": e["chain_hash"].hex()}
        for e in events
    ]
    bundle = {
        "format": FORMAT,
        "generated_at": generated_at,
        "shipment": shipment,
        "chain": {
            "rule": CHAIN_RULE,
            "canonical": "JSON of the event fields "
            + ", ".join(EVENT_FIELDS)
            + " with sorted keys and no whitespace",
            "length": len(listed),
            "head": listed[-1]["chain_hash"] if listed else GENESIS.hex(),
            "unsealed_events": unsealed_events,
        },
        "events": listed,
        "pods": pods,
        "blobs": blobs,
    }
    return bundle | {"content_sha256": content_digest(bundle)}


def content_digest(bundle: Mapping[str, Any]) -> str:
    body = {key: value for key, value in bundle.items() if key != "content_sha256"}
    return hashlib.sha256(msgspec.json.encode(body, order="sorted")).hexdigest()


def zip_bundle(bundle: dict[str, Any], files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(BUNDLE_NAME, msgspec.json.encode(bundle))
        for sha256, data in sorted(files.items()):
            archive.writestr(f"blobs/{sha256}", data)
    return buffer.getvalue()


# verifying ---------------------------------------------------------------------------------------


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        verdict = "VERIFIED" if self.ok else f"BROKEN ({len(self.problems)} problem(s))"
        lines = [verdict, *(f"  ok: {line}" for line in self.checked)]
        return "\n".join([*lines, *(f"  FAIL: {line}" for line in self.problems)])


def verify_file(path: str | Path) -> Report:
    """A `.json` bundle or a `.zip` with `evidence.json` and `blobs/`."""
    raw = Path(path).read_bytes()
    if not zipfile.is_zipfile(io.BytesIO(raw)):
        return verify_bytes(raw, None)
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as exc:
        return Report(problems=[f"the zip is damaged: {exc}"])
    with archive:
        damaged: list[str] = []
        members = {name: _read_member(archive, name, damaged) for name in archive.namelist()}
        document = members.get(BUNDLE_NAME)
        if document is None:
            return Report(problems=[*damaged, f"the zip holds no readable {BUNDLE_NAME}"])
        files = {
            name.removeprefix("blobs/"): data
            for name, data in members.items()
            if name.startswith("blobs/") and data is not None
        }
        report = verify_bytes(document, files)
        report.problems[:0] = damaged
        return report


def _read_member(archive: zipfile.ZipFile, name: str, damaged: list[str]) -> bytes | None:
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:  # CRC or inflate failed
        damaged.append(f"{name}: damaged in the zip ({exc})")
        return None


def verify_bytes(document: bytes, files: Mapping[str, bytes] | None) -> Report:
    try:
        bundle = msgspec.json.decode(document)
    except msgspec.DecodeError as exc:
        return Report(problems=[f"{BUNDLE_NAME} is not valid JSON: {exc}"])
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        return Report(problems=[f"not a {FORMAT} bundle"])
    try:
        return verify_bundle(bundle, files)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Report(problems=[f"the bundle is malformed: {type(exc).__name__}: {exc}"])


def verify_bundle(bundle: dict[str, Any], files: Mapping[str, bytes] | None) -> Report:
    report = Report()
    _verify_chain(bundle, report)
    _verify_pods(bundle, report)
    _verify_blobs(bundle, files, report)
    if content_digest(bundle) == bundle.get("content_sha256"):
        report.checked.append("content_sha256 matches the whole document")
    else:
        report.problems.append("content_sha256 does not match: the document was altered")
    return report


def _verify_chain(bundle: dict[str, Any], report: Report) -> None:
    events = bundle["events"]
    previous = GENESIS.hex()
    broken = 0
    for position, event in enumerate(events, start=1):
        label = f"link {position} (event {event['id']}, {event['type']})"
        if event["chain_seq"] != position:
            report.problems.append(f"{label}: chain_seq is {event['chain_seq']}, not {position}")
            broken += 1
        expected = link(bytes.fromhex(previous), event).hex()
        if expected != event["chain_hash"]:
            report.problems.append(
                f"{label}: chain_hash does not match — this event or the link before it "
                f"was altered (recomputed {expected[:16]}…, stored {event['chain_hash'][:16]}…)"
            )
            broken += 1
        previous = event["chain_hash"]
    chain = bundle["chain"]
    if chain["head"] != previous or chain["length"] != len(events):
        report.problems.append("the chain head or length differs from the events listed")
        broken += 1
    if not broken:
        report.checked.append(f"{len(events)} chain links, head {previous}")
    if chain.get("unsealed_events"):
        report.checked.append(f"note: {chain['unsealed_events']} event(s) not yet in the chain")


def _verify_pods(bundle: dict[str, Any], report: Report) -> None:
    events = {event["id"]: event for event in bundle["events"]}
    for pod in bundle["pods"]:
        event = events.get(pod["id"])
        if event is None or event["type"] != "delivered":
            report.problems.append(f"POD {pod['id']}: no delivered event of that id in the chain")
            continue
        data = event["data"]
        expected = {name: data.get(name) for name in POD_FROM_DATA}
        expected["photo_sha256s"] = data.get("photo_sha256s") or []
        expected["effective_at"] = event["effective_at"]
        expected["device_id"] = event["device_id"]
        expected["shipment_id"] = event["shipment_id"]
        differing = [name for name, value in expected.items() if pod.get(name) != value]
        if differing:
            report.problems.append(
                f"POD {pod['id']}: {', '.join(differing)} differ from its delivered event"
            )
        else:
            report.checked.append(f"POD {pod['id']} agrees with its delivered event")


def _verify_blobs(
    bundle: dict[str, Any], files: Mapping[str, bytes] | None, report: Report
) -> None:
    listed = {blob["sha256"]: blob for blob in bundle["blobs"]}
    for pod in bundle["pods"]:
        named = [pod["signature_sha256"], *pod["photo_sha256s"]]
        for sha256 in filter(None, named):
            if sha256 not in listed and sha256 not in pod["missing_blobs"]:
                report.problems.append(f"POD {pod['id']} names blob {sha256}, which is not listed")
    if files is None:
        report.checked.append(f"{len(listed)} blob hash(es) listed (bytes not in a JSON bundle)")
        return
    for sha256, blob in listed.items():
        if not blob.get("file"):
            continue
        data = files.get(sha256)
        if data is None:
            report.problems.append(f"blob {sha256}: listed as included but not in the zip")
        elif hashlib.sha256(data).hexdigest() != sha256:
            report.problems.append(f"blob {sha256}: its bytes do not hash to its name")
        elif len(data) != blob["size_bytes"]:
            report.problems.append(
                f"blob {sha256}: {len(data)} bytes, listed as {blob['size_bytes']}"
            )
        else:
            report.checked.append(f"blob {sha256} ({blob['content_type']}) matches its hash")
