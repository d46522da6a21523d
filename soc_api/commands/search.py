"""``soc search``: the analyst query language over a store; NDJSON hits or a count."""

from __future__ import annotations

import sys
from datetime import tzinfo

import click

from soc_api.commands._common import (
    display_tz_option,
    display_zone,
    open_store_or_fail,
    parse_time,
    store_option,
)
from soc_core.contracts import COLLECTIONS, TimeRange
from soc_core.errors import QuerySyntaxError, StoreError
from soc_core.event import Event, dumps, get_field, parse_timestamp
from soc_core.query import parse_query
from soc_core.query.text import searchable_text

PAGE_SIZE = 500


@click.command("search")
@store_option
@click.option("--count", "count_only", is_flag=True, help="Print only the number of matching documents.")
@click.option("--from", "time_from", help="Start of the time range, inclusive (ISO-8601 or now-1h).")
@click.option("--to", "time_to", help="End of the time range, exclusive (ISO-8601 or now).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--collection", type=click.Choice(COLLECTIONS), default="events", show_default=True,
    help="events, alerts or dead_letters.",
)
@click.option("--order", type=click.Choice(["desc", "asc"]), default="desc", show_default=True)
@click.option("--format", "output_format", type=click.Choice(["ndjson", "text"]), default="ndjson",
              show_default=True, help="ndjson: the documents (for programs); text: one line each, for people.")
@display_tz_option
@click.argument("query", default="*")
def command(
    store_url: str, count_only: bool, time_from: str | None, time_to: str | None, limit: int,
    collection: str, order: str, output_format: str, display_tz_name: str | None, query: str,
) -> None:
    """Search stored documents, e.g. 'source.ip:10.0.0.0/8 AND event.action:drop*'."""
    try:
        node = parse_query(query)
    except QuerySyntaxError as exc:
        # One line: a query may be long or hold control characters (they are the error).
        click.echo(f"query error: {exc.reason} (column {exc.column})", err=True)
        sys.exit(2)
    window = TimeRange(parse_time(time_from), parse_time(time_to))
    zone = display_zone(display_tz_name)
    store = open_store_or_fail(store_url, read_only=True)
    try:
        if count_only:
            click.echo(store.count(collection, node, window))  # type: ignore[arg-type]
            return
        out = sys.stdout.buffer
        remaining, cursor = limit, None
        while remaining > 0:
            page = store.search(
                collection, node, window, limit=min(PAGE_SIZE, remaining), cursor=cursor,  # type: ignore[arg-type]
                order=order,  # type: ignore[arg-type]
            )
            for event in page.events:
                if output_format == "text":
                    out.write(text_line(event, zone).encode() + b"\n")
                else:
                    out.write(dumps(event) + b"\n")
            remaining -= len(page.events)
            cursor = page.cursor
            if cursor is None:
                break
        out.flush()
    except StoreError as exc:
        click.echo(f"store error: {' '.join(str(exc).split())}", err=True)
        sys.exit(1)
    finally:
        store.close()


def text_line(event: Event, zone: tzinfo) -> str:
    """One document as a line for people: its time in ``zone``, dataset, host, text."""
    stamp = event.get("@timestamp")
    when = parse_timestamp(stamp).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %z") if isinstance(stamp, str) else "-"
    text = (get_field(event, "rule.name") or get_field(event, "error.message") or searchable_text(event) or "")
    dataset = get_field(event, "event.dataset") or "-"
    host = get_field(event, "host.name") or get_field(event, "host.hostname") or "-"
    return f"{when}  {dataset}  {host}  {' '.join(str(text).split())}"
