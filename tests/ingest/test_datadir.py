"""Issue #21 item 13: one service per data directory, and damaged queue or store files
named in one line (with ``soc repair`` as the way out) instead of an sqlite3 traceback."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from ingest.datadir import DataDirLock
from ingest.queue import DurableQueue
from ingest.receivers.syslog_tcp import SyslogTcpReceiver
from ingest.service import Service
from soc_api.commands._common import make_parser
from soc_core.errors import ConfigError, DataFileError
from soc_store.sqlite import SqliteStore
from tests.ingest.test_kill_restart import ROOT, SOC, soc_run


def test_a_second_service_on_one_data_dir_refuses_to_start(tmp_path: Path) -> None:
    def service() -> Service:
        return Service([SyslogTcpReceiver("127.0.0.1", 0)], DurableQueue(tmp_path / "queue.db"),
                       lambda: SqliteStore(tmp_path / "store.db"), make_parser, data_dir=tmp_path)

    async def scenario() -> None:
        first, second = service(), service()
        await first.start()
        with pytest.raises(ConfigError, match=f"in use by another soc run \\(pid {os.getpid()}\\)"):
            await second.start()
        await first.stop()
        third = service()
        await third.start()  # the lock went with the first service
        await third.stop()

    asyncio.run(scenario())


def test_the_lock_goes_with_the_process(tmp_path: Path) -> None:
    """flock: a killed service leaves no stale lock behind."""
    holder = subprocess.Popen(
        ["python3", "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
         "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)", str(tmp_path / "lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(ConfigError):
            DataDirLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
    lock = DataDirLock(tmp_path)
    lock.acquire()
    lock.release()


def test_two_soc_run_on_one_data_dir(tmp_path: Path) -> None:
    """Today both start and store every event twice."""
    data_dir = tmp_path / "data"
    with soc_run(data_dir) as (first, _):
        second = subprocess.run([*SOC, "run", "--syslog-tcp", "127.0.0.1:0", "--data-dir", str(data_dir)],
                                cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
        assert second.returncode != 0
        assert second.stdout == ""  # never said ready
        [line] = second.stderr.splitlines()
        assert "in use by another soc run" in line and f"pid {first.pid}" in line


def test_a_damaged_queue_file_is_named_in_one_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "queue.db").write_bytes(b"this is not a database" * 300)
    result = subprocess.run([*SOC, "run", "--syslog-tcp", "127.0.0.1:0", "--data-dir", str(data_dir)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert str(data_dir / "queue.db") in line and "soc repair" in line
    with pytest.raises(DataFileError, match="cannot open the queue"):
        DurableQueue(data_dir / "queue.db")


def test_a_store_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(DataFileError) as info:
        SqliteStore(path)
    assert info.value.path == str(path)
    assert str(info.value).count("\n") == 0 and "soc repair" in str(info.value)
