"""``soc intel import|list|show|expire|retro|sync|export|serve``: threat intelligence indicators in a store.

* ``import [--source NAME] [--tlp LEVEL] FILE_OR_DIR...`` reads STIX 2.1 bundles (or TAXII
  envelopes), MISP events and MISP feed directories, CSV and plain lists, merges them into
  the store's indicators and reports what was not usable, with its place;
* ``list`` prints indicators (NDJSON), ``show ID|VALUE`` one with its sources and sightings;
* ``expire`` marks indicators past their expiry (they stay, no longer matched);
* ``retro [--from T] [--to T]`` matches the stored events of a window against the active
  indicators (after an import) and stores the enrichment alerts;
* ``sync --taxii URL --collection ID [--pull] [--push]`` pulls what is new from a TAXII 2.1
  collection and pushes what the partner may receive (TLP enforced), with credentials from
  ``SOC_TAXII_USER``/``SOC_TAXII_PASSWORD``;
* ``export --misp-feed DIR`` writes a MISP feed of what the partner may receive;
* ``serve --taxii HOST:PORT --partners FILE`` serves the indicators over TAXII 2.1.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import click
import orjson

from intel.detector import IntelDetector, build_index, retro_match
from intel.importers import Defaults, ImportReport, read_path
from intel.indicators import TYPES, canonical, guess_type, indicator_id, tlp_level
from intel.repository import IndicatorRepository
from soc_api.commands._common import open_store_or_fail, parse_time, store_option
from soc_core.clock import SystemClock
from soc_core.contracts import TimeRange
from soc_core.errors import IntelError, NotFound, StoreError
from soc_core.query.grammar import parse_query

_SHOWN_PROBLEMS = 20


@click.group("intel")
def command() -> None:
    """Threat intelligence indicators: import, list, show, expire, retro-match."""


@command.command("import")
@store_option
@click.option("--source", default=None, help="Source name for every indicator (default: from the file).")
@click.option("--tlp", "tlp", default=None, help="TLP 2.0 level for every indicator (CLEAR..RED).")
@click.option("--ttl-days", type=click.IntRange(1), default=None,
              help="Indicators without an expiry stay active this many days after last seen "
                   "(default by type: addresses 30, names and URLs 90, hashes 365).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def import_command(store_url: str, source: str | None, tlp: str | None, ttl_days: int | None,
                   paths: tuple[str, ...]) -> None:
    """Import indicators from FILE_OR_DIR... (STIX 2.1, MISP event/feed, CSV, plain list).

    Exit status 1 when some input could not be used (each problem is printed with its place;
    the rest is imported)."""
    try:
        defaults = Defaults(source=source, tlp=tlp_level(tlp) if tlp else None)
    except IntelError as exc:
        raise click.BadParameter(str(exc), param_hint="--tlp") from None
    report = ImportReport()
    for path in paths:
        try:
            read_path(Path(path), defaults, report)
        except IntelError as exc:
            report.problems.append(str(exc))
    clock = SystemClock()
    observations = [*report.observations, *report.unmatchable]
    if ttl_days is not None:
        ttl = timedelta(days=ttl_days)
        observations = [o if o.valid_until
                        else replace(o, valid_until=(o.last_seen or o.first_seen or clock.now()) + ttl)
                        for o in observations]
    store = open_store_or_fail(store_url)
    try:
        repo = IndicatorRepository(store, clock)
        counts = repo.add(observations)
    except StoreError as exc:
        click.echo(f"store error: {exc}", err=True)
        sys.exit(1)
    finally:
        store.close()
    click.echo(f"read {report.files} file(s): {len(report.observations)} indicators, "
               f"{len(report.unmatchable)} patterns kept but not matchable, {len(report.problems)} problems / "
               f"đọc {report.files} tệp: {len(report.observations)} chỉ dấu, "
               f"{len(report.unmatchable)} mẫu được giữ nhưng không so khớp được, {len(report.problems)} lỗi")
    click.echo(f"stored {counts.created} new, {counts.updated} merged into known indicators / "
               f"lưu {counts.created} mới, {counts.updated} gộp vào chỉ dấu đã có")
    for what, n in sorted(report.skipped.items()):
        click.echo(f"skipped {n}: {what}")
    for obs in report.unmatchable[:_SHOWN_PROBLEMS]:
        click.echo(f"not matchable: {obs.reference or '?'}: {obs.value}", err=True)
    for problem in report.problems[:_SHOWN_PROBLEMS]:
        click.echo(f"problem: {problem}", err=True)
    if len(report.problems) > _SHOWN_PROBLEMS:
        click.echo(f"... and {len(report.problems) - _SHOWN_PROBLEMS} more problems", err=True)
    if report.problems:
        sys.exit(1)


@command.command("list")
@store_option
@click.option("--all", "show_all", is_flag=True, help="Include expired and not matchable indicators.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1))
def list_command(store_url: str, show_all: bool, limit: int) -> None:
    """Print indicators as NDJSON (active ones unless --all)."""
    store = open_store_or_fail(store_url)
    try:
        shown = 0
        for record in IndicatorRepository(store, SystemClock()).all():
            if shown >= limit:
                break
            if show_all or (record.get("status") == "active" and record.get("type") in TYPES):
                sys.stdout.buffer.write(orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n")
                shown += 1
    finally:
        store.close()


@command.command("show")
@store_option
@click.argument("key")
def show_command(store_url: str, key: str) -> None:
    """Show one indicator, by id or by value, with the alerts that matched it."""
    store = open_store_or_fail(store_url)
    try:
        repo = IndicatorRepository(store, SystemClock())
        try:
            record = repo.get(key)
        except NotFound:
            try:
                record = repo.get(indicator_id(*canonical(guess_type(key), key)))
            except (IntelError, NotFound):
                raise click.ClickException(f"no indicator {key!r}") from None
        alerts = store.count("alerts", parse_query(f'alert.indicator_ids:"{record["id"]}"'))
    finally:
        store.close()
    sys.stdout.buffer.write(orjson.dumps(record, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n")
    click.echo(f"alerts in the store for this indicator / cảnh báo trong kho cho chỉ dấu này: {alerts}")


@command.command("expire")
@store_option
def expire_command(store_url: str) -> None:
    """Mark indicators past their expiry (kept for history, no longer matched)."""
    store = open_store_or_fail(store_url)
    try:
        n = IndicatorRepository(store, SystemClock()).expire()
    finally:
        store.close()
    click.echo(f"expired {n} indicators / đã hết hạn {n} chỉ dấu")


@command.command("retro")
@store_option
@click.option("--from", "start", default=None, help="Window start (ISO-8601 or now-7d), inclusive.")
@click.option("--to", "end", default=None, help="Window end, exclusive.")
def retro_command(store_url: str, start: str | None, end: str | None) -> None:
    """Match the stored events of a window against the active indicators; store the alerts."""
    clock = SystemClock()
    window = TimeRange(parse_time(start, clock), parse_time(end, clock))
    store = open_store_or_fail(store_url)
    try:
        repo = IndicatorRepository(store, clock)
        detector = IntelDetector(build_index(repo.all(), clock.now()), clock)
        read, alerts = retro_match(store, detector, window)
        known = {a["event"]["id"] for a in alerts if store.get("alerts", a["event"]["id"]) is not None}
        result = store.write(alerts)
        repo.record_sightings(detector.take_sightings(already_stored=known))
    finally:
        store.close()
    click.echo(f"matched {read} stored events against {detector.index.size} indicators: {len(alerts)} alerts, "
               f"{result.written} new / so khớp {read} sự kiện: {len(alerts)} cảnh báo, {result.written} mới")


@command.command("sync")
@store_option
@click.option("--taxii", "taxii_url", required=True, help="The partner's TAXII 2.1 API root URL.")
@click.option("--collection", "collection_id", required=True, help="Collection id under that API root.")
@click.option("--pull", is_flag=True, help="Import what the collection holds that is new since the last pull.")
@click.option("--push", is_flag=True, help="Send our active indicators the partner may receive.")
@click.option("--partner", default="national-center", show_default=True, help="The partner's name (share records).")
@click.option("--amber", is_flag=True, help="The partner is named for TLP:AMBER and AMBER+STRICT (never RED).")
@click.option("--as", "our_name", default="SOC", show_default=True, help="Our identity name in what we send.")
def sync_command(store_url: str, taxii_url: str, collection_id: str, pull: bool, push: bool, partner: str,
                 amber: bool, our_name: str) -> None:
    """Pull from and/or push to a TAXII 2.1 collection (credentials: SOC_TAXII_USER, SOC_TAXII_PASSWORD)."""
    from intel.sharing import Partner
    from intel.taxii import TaxiiPeer, pull_into, push_from

    if not pull and not push:
        raise click.UsageError("say what to do: --pull, --push or both")
    clock = SystemClock()
    url = f"{taxii_url.rstrip('/')}/collections/{collection_id}/"
    peer = TaxiiPeer(url, Partner(partner, amber=amber), os.environ.get("SOC_TAXII_USER"),
                     os.environ.get("SOC_TAXII_PASSWORD"))
    store = open_store_or_fail(store_url)
    try:
        if pull:
            report, changed = pull_into(store, peer, clock)
            click.echo(f"pulled {len(report.observations)} indicators ({changed} stored or merged), "
                       f"{len(report.unmatchable)} not matchable, {len(report.problems)} problems / "
                       f"đã nhận {len(report.observations)} chỉ dấu")
            for problem in report.problems[:_SHOWN_PROBLEMS]:
                click.echo(f"problem: {problem}", err=True)
        if push:
            share = push_from(store, peer, clock, our_name)
            click.echo(f"pushed {len(share['object_ids'])} indicators to {partner}, {share['withheld_by_tlp']} "
                       f"withheld by TLP / đã gửi {len(share['object_ids'])} chỉ dấu, "
                       f"giữ lại {share['withheld_by_tlp']} theo TLP (share {share['id']})")
    except IntelError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()


@command.command("export")
@store_option
@click.option("--misp-feed", "feed_dir", required=True, type=click.Path(file_okay=False),
              help="Directory to write the MISP feed into (manifest.json, event files, hashes.csv).")
@click.option("--partner", default="national-center", show_default=True, help="Who the feed is for.")
@click.option("--amber", is_flag=True, help="The partner is named for TLP:AMBER and AMBER+STRICT (never RED).")
@click.option("--as", "our_name", default="SOC", show_default=True, help="Our organisation name in the feed.")
def export_command(store_url: str, feed_dir: str, partner: str, amber: bool, our_name: str) -> None:
    """Write the active indicators the partner may receive as a MISP feed directory."""
    from intel.misp_export import export_feed
    from intel.sharing import Partner

    store = open_store_or_fail(store_url)
    try:
        records = [r for r in IndicatorRepository(store, SystemClock()).all() if r.get("status") == "active"]
    finally:
        store.close()
    written, withheld = export_feed(records, Path(feed_dir), Partner(partner, amber=amber), our_name)
    click.echo(f"exported {written} indicators to {feed_dir}, {withheld} withheld by TLP / "
               f"đã xuất {written} chỉ dấu, giữ lại {withheld} theo TLP")


@command.command("serve")
@store_option
@click.option("--taxii", "address", required=True, metavar="HOST:PORT", help="Where to serve TAXII 2.1.")
@click.option("--partners", "partners_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="YAML list of partners: name, password_env (the variable holding its password), amber.")
@click.option("--as", "our_name", default="SOC", show_default=True, help="Our identity name in what we serve.")
def serve_command(store_url: str, address: str, partners_file: str, our_name: str) -> None:
    """Serve the active indicators over TAXII 2.1 (read-only), per partner, TLP enforced."""
    import uvicorn
    import yaml

    from intel.sharing import Partner
    from intel.taxii_server import PartnerLogin, build_app

    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise click.BadParameter(f"{address!r}: expected HOST:PORT", param_hint="--taxii")
    logins = []
    for entry in yaml.safe_load(Path(partners_file).read_text()) or []:
        password = os.environ.get(str(entry.get("password_env", "")))
        if not entry.get("name") or not password:
            raise click.UsageError(f"{partners_file}: partner {entry.get('name')!r} needs a name and a password "
                                   f"in the variable named by password_env")
        logins.append(PartnerLogin(Partner(str(entry["name"]), amber=bool(entry.get("amber"))), password))
    store = open_store_or_fail(store_url)
    repo = IndicatorRepository(store, SystemClock())
    try:
        uvicorn.run(build_app(repo.all, logins, our_name), host=host.strip("[]") or "127.0.0.1", port=int(port),
                    log_level="warning")
    finally:
        store.close()
