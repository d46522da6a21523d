"""Operator-facing texts in Vietnamese and English (reports, dashboard labels, the demo).

Keys are stable identifiers; ``label(key, lang)`` returns one language, ``both(key)`` the
bilingual form "Tiếng Việt / English" used where one screen serves both audiences.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["vi", "en"]

TEXTS: dict[str, dict[Lang, str]] = {
    "title": {"vi": "Trung tâm Điều hành An ninh mạng (SOC) — bản demo", "en": "Security Operations Center — demo"},
    "inputs": {"vi": "Tệp nhật ký đã nạp", "en": "Log files ingested"},
    "events": {"vi": "Sự kiện đã lưu", "en": "Events stored"},
    "dead_letters": {"vi": "Bản ghi lỗi (không phân tích được)", "en": "Dead letters (unparsable)"},
    "alerts": {"vi": "Cảnh báo", "en": "Alerts"},
    "rules_loaded": {"vi": "Luật phát hiện đã nạp", "en": "Detection rules loaded"},
    "rule_errors": {"vi": "Luật bị lỗi (bỏ qua)", "en": "Broken rules (skipped)"},
    "by_dataset": {"vi": "Sự kiện theo nguồn dữ liệu", "en": "Events by dataset"},
    "top_sources": {"vi": "Địa chỉ nguồn hoạt động nhiều nhất", "en": "Most active source addresses"},
    "top_alerts": {"vi": "Cảnh báo theo luật", "en": "Alerts by rule"},
    "severity": {"vi": "Mức độ", "en": "Severity"},
    "store": {"vi": "Kho dữ liệu", "en": "Store"},
    "try": {"vi": "Thử tìm kiếm", "en": "Try a search"},
    "repair_ok": {"vi": "tệp nguyên vẹn, không cần sửa", "en": "sound, nothing to repair"},
    "repair_damaged": {"vi": "tệp bị hỏng", "en": "damaged"},
    "repair_failed": {"vi": "không sửa được", "en": "cannot be repaired"},
    "repair_done": {"vi": "đã dựng lại từ phần đọc được", "en": "rebuilt from what could be read"},
    "repair_kept": {"vi": "tệp hỏng được giữ tại", "en": "damaged file kept at"},
    "repair_lost": {"vi": "không đọc được (mất)", "en": "unreadable (lost)"},
    "sample_note": {
        "vi": "Không tìm thấy bộ dữ liệu chung; dùng mẫu nhật ký do dự án tự tạo.",
        "en": "Shared corpus not found; using the project's own sample logs.",
    },
}


# Incident handling (soc incidents / suppressions / overrides / audit).
TEXTS.update({
    "incident": {"vi": "Sự cố", "en": "Incident"},
    "incidents_none": {"vi": "Không có sự cố nào khớp", "en": "No incident matches"},
    "status": {"vi": "Trạng thái", "en": "Status"},
    "assignee": {"vi": "Người xử lý", "en": "Assignee"},
    "alerts_count": {"vi": "Số cảnh báo", "en": "Alerts"},
    "tactics": {"vi": "Chiến thuật ATT&CK", "en": "ATT&CK tactics"},
    "entities": {"vi": "Thực thể", "en": "Entities"},
    "first_last_seen": {"vi": "Lần đầu / lần cuối", "en": "First / last seen"},
    "why_grouped": {"vi": "Vì sao gộp các cảnh báo", "en": "Why these alerts are grouped"},
    "timeline": {"vi": "Dòng thời gian", "en": "Timeline"},
    "comments": {"vi": "Bình luận", "en": "Comments"},
    "evidence": {"vi": "Bằng chứng", "en": "Evidence"},
    "changed": {"vi": "Đã cập nhật", "en": "Updated"},
    "conflict": {"vi": "Xung đột phiên bản: sự cố đã bị thay đổi, hãy đọc lại",
                 "en": "Version conflict: the incident changed meanwhile, read it again"},
    "suppressions": {"vi": "Quy tắc loại trừ cảnh báo", "en": "Alert suppressions"},
    "overrides": {"vi": "Ghi đè mức độ theo luật", "en": "Per-rule severity overrides"},
    "audit_ok": {"vi": "Chuỗi nhật ký kiểm toán nguyên vẹn", "en": "Audit chain intact"},
    "audit_broken": {"vi": "Chuỗi nhật ký kiểm toán bị hỏng tại bản ghi", "en": "Audit chain broken at entry"},
    "entries": {"vi": "bản ghi", "en": "entries"},
})


def label(key: str, lang: Lang) -> str:
    """One text in one language."""
    return TEXTS[key][lang]


def both(key: str) -> str:
    """The bilingual label, Vietnamese first."""
    return f"{TEXTS[key]['vi']} / {TEXTS[key]['en']}"
