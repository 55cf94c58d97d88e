"""Model versions under ``settings.models_dir / "ranker"``: one folder per trained model.

Layout::

    models/ranker/
        CURRENT                  # name of the version serving uses
        v0001/ metadata.json     # {"version", "created", "parent", "data", "metrics", "kind", ...}
               encoder/          # save_pretrained of the (fine-tuned) encoder + tokenizer
               head.pt           # the regression head and bias tables
        v0002/ ...

``use_version`` switches serving to any saved version; rolling back is ``use`` of the
parent named in metadata.json. Versions are never deleted by the code.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from shopassist.errors import UserError
from shopassist.settings import Settings


class VersionNotFound(UserError, LookupError):
    """The user named a version that does not exist; the message lists the ones that do."""


def root(settings: Settings) -> Path:
    return settings.models_dir / "ranker"


def list_versions(settings: Settings) -> list[dict]:
    """Metadata of every saved version, oldest first, with ``current`` marked."""
    base = root(settings)
    if not base.exists():
        return []
    cur = current_name(settings)
    out = []
    for d in sorted(base.iterdir()):
        meta = d / "metadata.json"
        if d.is_dir() and re.fullmatch(r"v\d{4}", d.name) and meta.exists():
            m = json.loads(meta.read_text())
            m["current"] = d.name == cur
            out.append(m)
    return out


def current_name(settings: Settings) -> str | None:
    f = root(settings) / "CURRENT"
    return f.read_text().strip() or None if f.exists() else None


def current_version(settings: Settings) -> Path | None:
    """Folder of the version serving should load, or None before any training.

    Raises ``VersionNotFound`` when ``CURRENT`` names a version that is not there."""
    name = current_name(settings)
    if not name:
        return None
    d = root(settings) / name
    if not (d / "metadata.json").exists():  # deleted or half-copied: serving the prior silently would hide it
        raise VersionNotFound(f"{root(settings) / 'CURRENT'} names ranker version {name!r}, which is not there "
                              f"(known: {', '.join(m['version'] for m in list_versions(settings)) or 'none'}): "
                              "run `shopassist ranker use VERSION` or `shopassist ranker train`")
    return d


def new_version_dir(settings: Settings) -> Path:
    """A fresh, empty ``vNNNN`` folder (the next number)."""
    base = root(settings)
    base.mkdir(parents=True, exist_ok=True)
    nums = [int(d.name[1:]) for d in base.iterdir() if re.fullmatch(r"v\d{4}", d.name)]
    d = base / f"v{max(nums, default=0) + 1:04d}"
    d.mkdir()
    return d


def write_metadata(version_dir: Path, **meta) -> dict:
    """Write metadata.json (adds version and created)."""
    # milliseconds: "feedback since this version" must not re-read the second the version was made in
    meta = {"version": version_dir.name, "created": datetime.now(UTC).isoformat(timespec="milliseconds"), **meta}
    (version_dir / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
    return meta


def read_metadata(version_dir: Path) -> dict:
    return json.loads((version_dir / "metadata.json").read_text())


def use_version(settings: Settings, name: str) -> dict:
    """Make ``name`` the version serving loads; returns its metadata."""
    d = root(settings) / name
    if not (d / "metadata.json").exists():
        known = ", ".join(m["version"] for m in list_versions(settings)) or "none yet: run `shopassist ranker train`"
        raise VersionNotFound(f"no ranker version {name!r} (known: {known})")
    # write-then-rename: a serving replica polling CURRENT (``ranker.live``) never reads it half-written
    tmp = root(settings) / f".CURRENT.{os.getpid()}"
    tmp.write_text(name)
    os.replace(tmp, root(settings) / "CURRENT")
    return read_metadata(d)


def rollback(settings: Settings) -> dict:
    """Switch back to the current version's parent."""
    cur = current_version(settings)
    if cur is None:
        raise VersionNotFound("no current ranker version to roll back from")
    parent = read_metadata(cur).get("parent")
    if not parent:
        raise VersionNotFound(f"{cur.name} has no parent version to roll back to")
    return use_version(settings, parent)
