"""The connection-record model: numeric and categorical fields of one event, PCA residual.

For records that describe one connection or flow (firewall and flow logs, NSL-KDD's
connection records), each event becomes a row: numeric fields as ``log1p`` (byte and
packet counts span orders of magnitude), categorical fields one-hot over the values
seen in training. scikit-learn's ``StandardScaler`` and ``PCA`` (components keeping 95 %
of the variance) are fitted on normal training rows; a row's score is its squared
reconstruction error in the standardised space: how far it lies from the subspace where
normal traffic lives. The explanation names the fields farthest from training (residual
or standardised value), with their value and the training range (1st to 99th percentile) or the share of training
rows holding that category.

Scoring uses numpy with the fitted arrays (saved in ``arrays.npz``), so a model loads
without unpickling anything.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from correlation.anomaly.explain import Reason
from soc_core.errors import ModelError
from soc_core.event import get_field

Matrix = npt.NDArray[np.float64]

# ECS fields of a connection, for firewall and flow logs. ``event.action`` and
# ``event.outcome`` are left out on purpose: they are the firewall's verdict, not behaviour.
DEFAULT_FEATURES: Final[list[dict[str, str]]] = [
    {"field": "network.transport", "type": "cat"},
    {"field": "network.protocol", "type": "cat"},
    {"field": "destination.port", "type": "cat"},
    {"field": "event.duration", "type": "num"},
    {"field": "source.bytes", "type": "num"},
    {"field": "destination.bytes", "type": "num"},
    {"field": "source.packets", "type": "num"},
    {"field": "destination.packets", "type": "num"},
]
MAX_CATEGORIES: Final = 200  # per field: the most frequent values; the rest are "other"
VARIANCE_KEPT: Final = 0.95
Z_CLIP: Final = 50.0  # one absurd value must not drown every other residual
TOP_REASONS: Final = 3


def parse_features(spec: str) -> list[dict[str, str]]:
    """``field[:cat|num],...`` (numeric unless ``:cat``) to a feature list."""
    out: list[dict[str, str]] = []
    for item in spec.split(","):
        name, _, kind = item.strip().partition(":")
        if not name:
            continue
        if kind not in ("", "num", "cat"):
            raise ModelError(f"feature {item!r}: type must be num or cat")
        out.append({"field": name, "type": kind or "num"})
    if not out:
        raise ModelError("no features given")
    return out


def _number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return 0.0
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value))
        except ValueError:
            return 0.0
    return number if math.isfinite(number) else 0.0


class TabularModel:
    """A fitted connection-record model (see the module docstring)."""

    kind = "tabular"

    def __init__(self, features: list[dict[str, str]], categories: dict[str, dict[str, float]],
                 arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.features = features
        self.categories = categories  # field -> {value: share of training rows}
        self.arrays = arrays
        self._columns: list[tuple[str, str | None]] = []  # (field, category or None for numeric)
        for feature in features:
            name = feature["field"]
            if feature["type"] == "cat":
                self._columns.extend((name, value) for value in sorted(categories[name]))
            else:
                self._columns.append((name, None))
        self._index = {col: i for i, col in enumerate(self._columns)}

    # --- rows ------------------------------------------------------------------------

    @staticmethod
    def raw_row(event: Mapping[str, Any], features: Sequence[Mapping[str, str]]) -> list[Any]:
        """The schema's field values of one event (numbers, or text for categories)."""
        row: list[Any] = []
        for feature in features:
            value = get_field(event, feature["field"])
            row.append(("" if value is None else str(value)) if feature["type"] == "cat" else _number(value))
        return row

    def matrix(self, rows: Sequence[Sequence[Any]]) -> Matrix:
        out = np.zeros((len(rows), len(self._columns)), dtype=np.float64)
        for i, row in enumerate(rows):
            for feature, value in zip(self.features, row, strict=True):
                name = feature["field"]
                if feature["type"] == "cat":
                    j = self._index.get((name, value))
                    if j is not None:
                        out[i, j] = 1.0
                else:
                    out[i, self._index[(name, None)]] = math.log1p(max(float(value), 0.0))
        return out

    # --- fitting ---------------------------------------------------------------------

    @classmethod
    def fit(cls, rows: Sequence[Sequence[Any]], features: list[dict[str, str]]) -> TabularModel:
        if len(rows) < 2:
            raise ModelError(f"need at least 2 training rows with the features, got {len(rows)}")
        categories: dict[str, dict[str, float]] = {}
        for k, feature in enumerate(features):
            if feature["type"] == "cat":
                counts = Counter(row[k] for row in rows)
                common = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_CATEGORIES]
                categories[feature["field"]] = {value: n / len(rows) for value, n in common}
        model = cls(features, categories, {})
        x = model.matrix(rows)
        scaler = StandardScaler().fit(x)
        z = np.clip(scaler.transform(x), -Z_CLIP, Z_CLIP)
        pca = PCA(n_components=VARIANCE_KEPT, svd_solver="full").fit(z)
        numeric = [k for k, f in enumerate(features) if f["type"] == "num"]
        raw = np.array([[float(row[k]) for k in numeric] for row in rows], dtype=np.float64).reshape(len(rows), -1)
        model.arrays = {
            "scale_mean": scaler.mean_, "scale_std": scaler.scale_,
            "components": pca.components_, "pca_mean": pca.mean_,
            "low": np.percentile(raw, 1, axis=0) if numeric else np.zeros(0),
            "high": np.percentile(raw, 99, axis=0) if numeric else np.zeros(0),
        }
        return model

    # --- scoring ---------------------------------------------------------------------

    def standardise(self, x: Matrix) -> Matrix:
        a = self.arrays
        return np.asarray(np.clip((x - a["scale_mean"]) / a["scale_std"], -Z_CLIP, Z_CLIP), dtype=np.float64)

    def residuals(self, z: Matrix) -> Matrix:
        a = self.arrays
        centred = z - a["pca_mean"]
        projected = centred @ a["components"].T @ a["components"]
        return np.asarray(centred - projected, dtype=np.float64)

    def score_rows(self, rows: Sequence[Sequence[Any]]) -> tuple[npt.NDArray[np.float64], Matrix]:
        """Scores of many rows, and their standardised values (for :meth:`reasons`)."""
        z = self.standardise(self.matrix(rows))
        r = self.residuals(z)
        return np.asarray((r**2).sum(axis=1), dtype=np.float64), z

    def reasons(self, row: Sequence[Any], z: npt.NDArray[np.float64]) -> list[Reason]:
        """The fields farthest from training, largest first: for each field, the larger of
        its squared residual and its squared standardised value (an absurd byte count is
        unusual even where the projection follows it)."""
        residual = self.residuals(z.reshape(1, -1))[0]
        per_field: dict[str, float] = {}
        signed: dict[str, float] = {}
        for (name, _), value, deviation in zip(self._columns, residual, z, strict=True):
            part = max(float(value) ** 2, float(deviation) ** 2)
            per_field[name] = max(per_field.get(name, 0.0), part)
            signed[name] = signed.get(name, 0.0) + float(deviation)
        numeric_names = [f["field"] for f in self.features if f["type"] == "num"]
        out: list[Reason] = []
        for feature, value in zip(self.features, row, strict=True):
            name = feature["field"]
            contribution = per_field.get(name, 0.0)
            if feature["type"] == "cat":
                share = self.categories[name].get(value)
                if share is None:
                    contribution = max(contribution, 1.0)  # unseen value: no column to carry it
                baseline = (f"{share:.2%} of training rows" if share is not None else "never seen in training") + \
                    "; common: " + ", ".join(
                    sorted(self.categories[name], key=lambda v: -self.categories[name][v])[:5])
                out.append(Reason("category.rare", name, value, baseline, contribution))
            else:
                k = numeric_names.index(name)
                low, high = float(self.arrays["low"][k]), float(self.arrays["high"][k])
                feature_name = "numeric.high" if signed.get(name, 0.0) > 0 else "numeric.low"
                out.append(Reason(feature_name, name, value, f"training 1st-99th percentile {low:g} to {high:g}",
                                  contribution))
        return sorted(out, key=lambda r: -r.contribution)[:TOP_REASONS]

    # --- persistence -----------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"features": self.features, "categories": self.categories}

    @classmethod
    def from_parts(cls, params: Mapping[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> TabularModel:
        return cls(list(params["features"]), dict(params["categories"]), arrays)
