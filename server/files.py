"""Files only the server's own user may read, whatever the umask it was started with.

The data folder holds the SQLite database, the JWT secret, WhatsApp logins (browser profiles)
and media: another local user must not read any of it. Folders are made 0700 and files 0600;
existing ones are narrowed to that when the server opens them.
"""
from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and missing parents, as 0700 too) or narrow an existing one to 0700."""
    path = Path(path)
    missing = []
    parent = path
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass
        os.chmod(folder, DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create an empty ``path`` 0600 if it does not exist, or narrow an existing one to 0600."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def narrow(path: str | os.PathLike[str]) -> None:
    """Make an existing file 0600; nothing when it does not exist."""
    try:
        os.chmod(path, FILE_MODE)
    except FileNotFoundError:
        pass


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to a new or existing file that is 0600 from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, FILE_MODE)
