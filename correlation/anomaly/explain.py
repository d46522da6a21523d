"""Explanations: which features were unusual, their value, and the baseline's typical range.

Every model returns its score with a list of :class:`Reason` (largest contribution first),
so an alert tells the analyst what to look at: ``parameter 'cantidad' has characters never
seen there: ' ; space (baseline: digits)``. ``text(reason, lang)`` renders one reason in
Vietnamese or English for people; ``as_dict`` is the form stored in ``anomaly.reasons``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Lang = Literal["vi", "en"]
MAX_VALUE_CHARS = 120

# What each feature means, in both languages; ``{field}`` is the parameter/feature name.
FEATURE_TEXTS: dict[str, dict[Lang, str]] = {
    "path.unseen": {"vi": "đường dẫn chưa từng thấy trên trang này", "en": "path never seen on this site"},
    "method.unseen": {"vi": "phương thức HTTP chưa từng dùng cho đường dẫn này",
                      "en": "HTTP method never used for this path"},
    "param.unknown": {"vi": "tham số '{field}' chưa từng thấy ở đường dẫn này",
                      "en": "parameter '{field}' never seen on this path"},
    "param.chars": {"vi": "tham số '{field}' chứa ký tự chưa từng thấy", "en": "parameter '{field}' has characters "
                    "never seen there"},
    "param.length": {"vi": "tham số '{field}' dài bất thường", "en": "parameter '{field}' is unusually long"},
    "param.shape": {"vi": "tham số '{field}' có dạng chưa từng thấy", "en": "parameter '{field}' has a shape never "
                    "seen there"},
    "param.value": {"vi": "tham số '{field}' có giá trị ngoài danh sách đã biết",
                    "en": "parameter '{field}' has a value outside the known list"},
    "header.unknown": {"vi": "trường header '{field}' chưa từng thấy", "en": "header field '{field}' never seen"},
    "numeric.high": {"vi": "'{field}' cao bất thường", "en": "'{field}' is unusually high"},
    "numeric.low": {"vi": "'{field}' thấp bất thường", "en": "'{field}' is unusually low"},
    "category.rare": {"vi": "'{field}' có giá trị hiếm hoặc chưa từng thấy",
                      "en": "'{field}' has a rare or unseen value"},
    "entity.high": {"vi": "'{field}' của thực thể cao hơn mức nền", "en": "the entity's '{field}' is above its "
                    "baseline"},
}


@dataclass(frozen=True)
class Reason:
    """One unusual feature: what, its value, the baseline, and its share of the score."""

    feature: str
    field: str
    value: Any
    baseline: str
    contribution: float

    def as_dict(self) -> dict[str, Any]:
        value = self.value
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            value = value[:MAX_VALUE_CHARS] + "…"
        return {"feature": self.feature, "field": self.field, "value": value, "baseline": self.baseline,
                "contribution": round(self.contribution, 4), "text": text_of(self.feature, self.field, "en"),
                "text_vi": text_of(self.feature, self.field, "vi")}


def text_of(feature: str, field_name: str, lang: Lang) -> str:
    template = FEATURE_TEXTS.get(feature, {}).get(lang, feature)
    return template.format(field=field_name)


def render(reason: Mapping[str, Any], lang: Lang) -> str:
    """One stored reason (``anomaly.reasons[i]``) as a line for people."""
    label = {"vi": "mức nền", "en": "baseline"}[lang]
    value = {"vi": "giá trị", "en": "value"}[lang]
    return (f"{text_of(str(reason.get('feature')), str(reason.get('field')), lang)}: "
            f"{value} {reason.get('value')!r}; {label}: {reason.get('baseline')}")


def top(reasons: list[Reason], limit: int = 5) -> list[Reason]:
    """The largest contributions first."""
    return sorted(reasons, key=lambda r: -r.contribution)[:limit]
