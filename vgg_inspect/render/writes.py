"""Bytes to standard output or to the path the user named, completely or not at all.

- A regular file (or a new one) is replaced atomically: a temporary file in the same folder,
  written, synced and renamed over it, keeping the old file's mode (and owner, where allowed). A
  failed or interrupted run never leaves half a file.
- A symbolic link is followed: its target is replaced, the link stays a link.
- Anything that is not a regular file (a device, a FIFO) is written in place, never replaced: run
  as root, ``-o /dev/null`` must not turn the system's device into a regular file.
- Every write is checked to the last byte: a short write (a file-size limit) or an error (ENOSPC
  from a full device) is an ``OSError`` naming the path, never a silent success.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys

STDOUT = "standard output"


def write_all(fd: int, data: bytes, name: str) -> None:
    """Every byte of ``data`` to ``fd``; an error (or a write that makes no progress) names ``name``."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, name) from None
        if written <= 0:
            raise OSError(errno.EIO, f"the write stopped after {len(data) - len(view):,} of {len(data):,} bytes", name)
        view = view[written:]


def to_stdout(data: bytes) -> None:
    """To standard output, checked: ``> /dev/full`` or a file-size limit is an error, not exit 0."""
    stream = sys.stdout
    stream.flush()
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):  # a stream without a file (tests, notebooks)
        buffer = getattr(stream, "buffer", None)
        written = buffer.write(data) if buffer is not None else stream.write(data.decode("utf-8"))
        if isinstance(written, int) and written < (len(data) if buffer is not None else len(data.decode("utf-8"))):
            raise OSError(errno.EIO, f"only {written:,} of {len(data):,} bytes were written", STDOUT) from None
        stream.flush()
        return
    write_all(fd, data, STDOUT)


def check_destination(output: str) -> None:
    """Before any work: ``output`` can receive a file (its folder exists, it is not a folder), so that
    a long run (bench, --effective) does not fail only at its end."""
    if output == "-":
        return
    target = os.path.realpath(output)
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", output)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"no folder {os.path.dirname(output) or folder} to write into", output)


def to_path(data: bytes, output: str) -> None:
    """To the file ``output`` (see the module's rules)."""
    target = os.path.realpath(output)  # a link's target is what the user means
    try:
        found: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, output) from None
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", output)
    if found is not None and not stat.S_ISREG(found.st_mode):
        _in_place(data, target, output)  # a device or a FIFO is written to, never replaced
        return
    _replace(data, target, output, found)


def _in_place(data: bytes, target: str, output: str, truncate: bool = False) -> None:
    try:
        fd = os.open(target, os.O_WRONLY | (os.O_TRUNC if truncate else 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, output) from None
    try:
        write_all(fd, data, output)
    finally:
        try:
            os.close(fd)
        except OSError as exc:  # a deferred error (NFS, a device) is still a failed write
            raise OSError(exc.errno, exc.strerror, output) from None


def _replace(data: bytes, target: str, output: str, found: os.stat_result | None) -> None:
    import tempfile

    folder = os.path.dirname(target)
    try:
        fd, temporary = tempfile.mkstemp(prefix=".vgg-inspect-", suffix=".tmp", dir=folder)
    except OSError as exc:
        if found is not None and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and os.access(target, os.W_OK):
            _in_place(data, target, output, truncate=True)  # a writable file in a folder we cannot write to
            return
        raise OSError(exc.errno, f"cannot write there ({exc.strerror})", output) from None  # the asked-for name
    try:
        try:
            write_all(fd, data, output)
            if found is not None:
                os.fchmod(fd, stat.S_IMODE(found.st_mode))  # a 0600 file stays 0600
                try:
                    os.fchown(fd, found.st_uid, found.st_gid)
                except PermissionError:
                    pass  # only root may give a file away; the mode is kept all the same
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fd, 0o666 & ~umask)  # as open() would create it, not mkstemp's 0600
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
