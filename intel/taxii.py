"""Sharing over TAXII 2.1 with ``taxii2-client``: pull a collection, push our indicators.

* **pull**: the collection's manifest, then its objects, both in pages (``limit`` and
  ``next``), after the ``added_after`` cursor kept from the last pull (the latest
  ``date_added`` the manifest showed, stored as a record of kind ``intel_sync``), so a
  scheduled pull fetches only what is new; the objects go through the STIX importer.
* **push**: the STIX bundle of what the partner may receive (:mod:`intel.sharing`: TLP
  enforced there), and a record of kind ``intel_shares`` saying what was sent, when, to
  whom, the server's status, and what was withheld by TLP.

Every request has a timeout; a failed request is retried a bounded number of times.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

import requests
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import Collection, as_pages

from intel.importers import Defaults, ImportReport, read_stix
from intel.repository import IndicatorRepository
from intel.sharing import Partner, bundle_for
from soc_core.clock import Clock
from soc_core.contracts import Store
from soc_core.errors import IntelError, NotFound
from soc_core.event import format_timestamp

SHARES: Final = "intel_shares"
SYNC_STATE: Final = "intel_sync"
T = TypeVar("T")


class TaxiiPeer:
    """One TAXII 2.1 collection of a partner."""

    def __init__(self, collection_url: str, partner: Partner, user: str | None = None, password: str | None = None,
                 page_size: int = 100, retries: int = 3, timeout_secs: float = 30.0) -> None:
        self.url = collection_url.rstrip("/") + "/"
        self.partner = partner
        self.page_size = page_size
        self.retries = retries
        self.collection = Collection(self.url, user=user, password=password)
        # taxii2-client passes no timeout of its own: set one on its session.
        session = self.collection._conn.session
        original = session.request

        def request(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", timeout_secs)
            return original(*args, **kwargs)

        session.request = request

    def _retry(self, what: str, call: Callable[[], T]) -> T:
        for attempt in range(self.retries):
            try:
                return call()
            except (requests.RequestException, TAXIIServiceException) as exc:
                if attempt == self.retries - 1:
                    raise IntelError(f"TAXII {what} at {self.url}: {exc}") from None
                time.sleep(0.5 * 2 ** attempt)
        raise AssertionError("unreachable")

    def pull(self, added_after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Objects added after the cursor, and the new cursor (latest ``date_added``)."""
        kwargs: dict[str, Any] = {"added_after": added_after} if added_after else {}
        latest = added_after

        def manifest() -> list[dict[str, Any]]:
            return [entry for page in as_pages(self.collection.get_manifest, per_request=self.page_size, **kwargs)
                    for entry in page.get("objects", [])]

        def objects() -> list[dict[str, Any]]:
            return [obj for page in as_pages(self.collection.get_objects, per_request=self.page_size, **kwargs)
                    for obj in page.get("objects", [])]

        for entry in self._retry("manifest", manifest):
            stamp = str(entry.get("date_added", ""))
            latest = stamp if latest is None or stamp > latest else latest
        return self._retry("get objects", objects), latest

    def push(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """Send a bundle; the server's status resource (as a dict)."""
        envelope = {"objects": bundle["objects"]}
        status = self._retry("add objects", lambda: self.collection.add_objects(envelope, wait_for_completion=False))
        return {"id": status.id, "status": status.status, "total_count": status.total_count,
                "success_count": status.success_count, "failure_count": status.failure_count,
                "pending_count": status.pending_count}


def _state_id(url: str) -> str:
    return hashlib.blake2b(url.encode(), digest_size=16).hexdigest()


def pull_into(store: Store, peer: TaxiiPeer, clock: Clock, source: str | None = None) -> tuple[ImportReport, int]:
    """Pull what is new from the peer into the store's indicators: (report, records changed)."""
    states = store.records(SYNC_STATE)
    state_id = _state_id(peer.url)
    try:
        state: dict[str, Any] | None = states.get(state_id)
    except NotFound:
        state = None
    objects, cursor = peer.pull(state.get("added_after") if state else None)
    report = ImportReport(files=1)
    read_stix(objects, peer.url, Defaults(source=source or peer.partner.name), report)
    counts = IndicatorRepository(store, clock).add([*report.observations, *report.unmatchable])
    new_state = {"id": state_id, "url": peer.url, "added_after": cursor, "pulled_at": format_timestamp(clock.now()),
                 "objects": len(objects)}
    states.put(new_state, int(state["version"]) if state else None)
    return report, counts.created + counts.updated


def push_from(store: Store, peer: TaxiiPeer, clock: Clock, our_name: str) -> dict[str, Any]:
    """Push every active indicator the partner may receive; the share record stored."""
    repo = IndicatorRepository(store, clock)
    records = [r for r in repo.all() if r.get("status") == "active"]
    bundle, withheld = bundle_for(records, peer.partner, our_name)
    sent = [o["id"] for o in bundle["objects"] if o["type"] == "indicator"]
    status = peer.push(bundle) if sent else {"status": "nothing to send"}
    now = format_timestamp(clock.now())
    share = {"id": hashlib.blake2b(f"{peer.url}\x00{now}\x00{bundle['id']}".encode(), digest_size=16).hexdigest(),
             "partner": peer.partner.name, "collection": peer.url, "sent_at": now, "bundle_id": bundle["id"],
             "object_ids": sent, "withheld_by_tlp": len(withheld), "status": status}
    store.records(SHARES).put(share, None)
    return share
