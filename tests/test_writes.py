"""Writes: complete or an error, never a replaced device. Device nodes are made here, in the test's
own folder (CI runs as root: the real /dev is never written to)."""

import errno
import json
import os
import resource
import stat
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner

from vgg_inspect.cli import cli
from vgg_inspect.render import writes

from . import reference as ref

FULL, NULL = (1, 7), (1, 3)  # Linux's /dev/full and /dev/null: the same driver behind a node of our own


def node(folder, name, numbers):
    path = folder / name
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(*numbers))
    except PermissionError:
        pytest.skip("making a device node needs root (CI runs as root)")
    return path


def tool(*args, stdout=subprocess.PIPE, limit=None):
    """The real command in a process of its own: stdout is a real file descriptor."""

    def limited():
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "vgg_inspect", *args], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, preexec_fn=limited, timeout=120)  # fmt: skip


def test_output_to_a_device_writes_in_place_and_keeps_the_node(tmp_path):
    full, null = node(tmp_path, "full", FULL), node(tmp_path, "null", NULL)
    res = CliRunner().invoke(cli, ["params", "--format", "json", "-o", str(full)])
    assert res.exit_code == 1 and "No space left on device" in res.output and str(full) in res.output
    res = CliRunner().invoke(cli, ["params", "--format", "json", "-o", str(null)])
    assert res.exit_code == 0, res.output
    for path in (full, null):
        assert stat.S_ISCHR(os.stat(path).st_mode)  # still a device, not a JSON report
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "null"]  # no temporary file left


def test_check_golden_and_update_to_a_full_device_fail(tmp_path):
    full = node(tmp_path, "full", FULL)
    res = CliRunner().invoke(cli, ["check", "vgg11", "--write-golden", str(full)])
    assert res.exit_code == 1 and "No space left on device" in res.output
    res = CliRunner().invoke(cli, ["check", "vgg11", "--baseline", str(full), "--update"])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert stat.S_ISCHR(os.stat(full).st_mode)


def test_stdout_to_a_full_device_fails(tmp_path):
    full = node(tmp_path, "full", FULL)
    with open(full, "wb") as sink:
        res = tool("params", "vgg16", "--format", "json", stdout=sink)
    assert res.returncode == 1 and res.stderr == "Error: No space left on device: standard output\n"


def test_a_file_size_limit_is_an_error_not_a_cut_json(tmp_path):
    with open(tmp_path / "piped.json", "wb") as sink:
        res = tool("summary", "vgg16", "--format", "json", stdout=sink, limit=4096)
    assert res.returncode == 1 and "File too large: standard output" in res.stderr
    res = tool("summary", "vgg16", "--format", "json", "-o", str(tmp_path / "named.json"), limit=4096)
    assert res.returncode == 1 and "File too large" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["piped.json"]  # the atomic write left nothing
    assert tool("params", "--format", "json", "-o", str(tmp_path / "small.json"), limit=1 << 20).returncode == 0


def test_a_fifo_is_written_not_replaced(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    res = CliRunner().invoke(cli, ["params", "--format", "json", "-o", str(fifo)])
    reader.join(timeout=60)
    if reader.is_alive() and stat.S_ISFIFO(os.stat(fifo).st_mode):  # nothing was written to it: release the reader
        os.close(os.open(fifo, os.O_WRONLY))
        reader.join()
    assert res.exit_code == 0 and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(got[0])["totals"]["params"] == ref.PARAMS["vgg16"]


def test_a_link_is_followed_and_the_mode_kept(tmp_path):
    target, link = tmp_path / "report.json", tmp_path / "link.json"
    target.write_text("old")
    target.chmod(0o600)
    link.symlink_to(target.name)
    assert CliRunner().invoke(cli, ["params", "--format", "json", "-o", str(link)]).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == target.name
    assert json.loads(target.read_text())["totals"]["params"] == ref.PARAMS["vgg16"]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_a_new_file_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        assert CliRunner().invoke(cli, ["params", "--format", "csv", "-o", str(tmp_path / "new.csv")]).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.csv").st_mode) == 0o640


def test_a_write_that_stops_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "write", lambda fd, data: 0)
    with pytest.raises(OSError) as caught:
        writes.write_all(1, b"abc", "somewhere")
    assert caught.value.errno == errno.EIO and caught.value.filename == "somewhere"
    assert "after 0 of 3 bytes" in caught.value.strerror
