"""Anomaly models as artefacts on disk: what was learnt, from what, with which code.

A model directory holds ``model.json`` (the kind, the feature schema and its hash, the
training window, the library versions, the threshold and how it was chosen, and the
learnt parameters that are plain data) and, for models with numeric arrays,
``arrays.npz`` written without pickling (``allow_pickle=False``: loading a model never
runs code from the file). Its SHA-256 is kept in ``model.json`` and checked on load.

Loading refuses, with :class:`~soc_core.errors.ModelError`, a model whose format, feature
schema or library versions differ from the running code's: scores from another schema
mean something else, and a fitted scaler or projection from another scikit-learn or
numpy line is not guaranteed to behave the same. The remedy the message gives is to
retrain.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from soc_core.errors import ModelError

FORMAT: Final = 1
MODEL_FILE: Final = "model.json"
ARRAYS_FILE: Final = "arrays.npz"
# Libraries whose major.minor line must match between training and scoring.
CHECKED_LIBRARIES: Final = ("scikit-learn", "numpy")


def _version_of(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "absent"


def library_versions() -> dict[str, str]:
    """The versions recorded in (and checked against) every artefact."""
    return {
        "soc-pipeline": _version_of("soc-pipeline"),
        "python": platform.python_version(),
        **{name: _version_of(name) for name in CHECKED_LIBRARIES},
    }


def _line(text: str) -> str:
    return ".".join(text.split(".")[:2])


def schema_hash(schema: Any) -> str:
    """A stable hash of a feature schema (JSON with sorted keys)."""
    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Artefact:
    """A model's metadata and learnt parameters, as saved and loaded."""

    kind: str
    schema: dict[str, Any]
    threshold: float
    threshold_rule: str
    training: dict[str, Any]
    params: dict[str, Any]
    arrays: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=library_versions)
    model_id: str = ""

    def metadata(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "kind": self.kind, "model_id": self.model_id,
            "schema": self.schema, "schema_hash": schema_hash(self.schema),
            "threshold": self.threshold, "threshold_rule": self.threshold_rule,
            "training": self.training, "versions": self.versions, "params": self.params,
        }


def save(artefact: Artefact, directory: str | os.PathLike[str]) -> Path:
    """Write the model directory (each file replaced atomically); returns its path."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    meta = artefact.metadata()
    if artefact.arrays:
        arrays_path = out / ARRAYS_FILE
        with tempfile.NamedTemporaryFile(dir=out, suffix=".npz", delete=False) as tmp:
            np.savez(tmp, **artefact.arrays)  # type: ignore[arg-type]  # numpy's stub types allow_pickle as **kwds
        os.replace(tmp.name, arrays_path)
        meta["arrays_sha256"] = hashlib.sha256(arrays_path.read_bytes()).hexdigest()
    if not artefact.model_id:
        # The id names what was learnt: the same training gives the same id.
        body = json.dumps({k: v for k, v in meta.items() if k != "model_id"}, sort_keys=True)
        artefact.model_id = meta["model_id"] = f"{artefact.kind}-{hashlib.sha256(body.encode()).hexdigest()[:12]}"
    text = json.dumps(meta, indent=1, sort_keys=True, ensure_ascii=False)
    with tempfile.NamedTemporaryFile("w", dir=out, suffix=".json", delete=False, encoding="utf-8") as tmp_json:
        tmp_json.write(text)
    os.replace(tmp_json.name, out / MODEL_FILE)
    return out


def load(directory: str | os.PathLike[str], expected_schema: dict[str, Any] | None = None) -> Artefact:
    """Read a model directory, refusing what the running code cannot score with."""
    where = Path(directory)
    try:
        meta = json.loads((where / MODEL_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{where}: no {MODEL_FILE} (not a model directory)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{where / MODEL_FILE}: not valid JSON ({exc})") from None
    if meta.get("format") != FORMAT:
        raise ModelError(f"{where}: model format {meta.get('format')!r}, this code reads format {FORMAT}; retrain it")
    running = library_versions()
    for name in CHECKED_LIBRARIES:
        made = str(meta.get("versions", {}).get(name, "absent"))
        if _line(made) != _line(running[name]):
            raise ModelError(f"{where}: trained with {name} {made}, running {running[name]}; retrain the model "
                             "with this version")
    if schema_hash(meta.get("schema")) != meta.get("schema_hash"):
        raise ModelError(f"{where}: the feature schema does not match its recorded hash (edited or damaged)")
    if expected_schema is not None and schema_hash(expected_schema) != meta["schema_hash"]:
        raise ModelError(f"{where}: feature schema {meta['schema_hash']} differs from this code's "
                         f"{schema_hash(expected_schema)} for kind {meta.get('kind')!r}; retrain the model")
    arrays: dict[str, npt.NDArray[Any]] = {}
    if "arrays_sha256" in meta:
        data = (where / ARRAYS_FILE).read_bytes()
        if hashlib.sha256(data).hexdigest() != meta["arrays_sha256"]:
            raise ModelError(f"{where / ARRAYS_FILE}: checksum differs from {MODEL_FILE} (damaged or replaced)")
        with np.load(where / ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    return Artefact(kind=meta["kind"], schema=meta["schema"], threshold=float(meta["threshold"]),
                    threshold_rule=meta["threshold_rule"], training=meta["training"], params=meta["params"],
                    arrays=arrays, versions=meta["versions"], model_id=meta["model_id"])
