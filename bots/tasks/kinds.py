"""Kinds of task, read from the mission by keywords (English and Korean), so the records can
say who is good at what: "Claude wins disk tasks, Gemini's deploy plans fail".

Pure and deliberately coarse: a few kinds a person would name, the first that matches wins
in the order below (a mission about "logs filling the disk" is a disk task), `other` when
nothing does. Words match at a word start (Korean: anywhere, it has no spaces inside
compounds: "디스크용량").
"""

from __future__ import annotations

import re
from typing import Literal

TaskKind = Literal["disk", "update", "deploy", "logs", "writing", "research", "other"]

KIND_LABELS: dict[TaskKind, str] = {
    "disk": "disk/storage",
    "update": "update/install",
    "deploy": "deploy/restart",
    "logs": "logs/monitoring",
    "writing": "question/writing",
    "research": "research",
    "other": "other",
}

_KEYWORDS: tuple[tuple[TaskKind, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "disk",
        (
            "disk",
            "storage",
            "df",
            "du",
            "inode",
            "volume",
            "partition",
            "mount",
            "space",
            "quota",
            "filesystem",
            "cleanup",
            "clean up",
        ),
        ("디스크", "용량", "저장", "스토리지", "파티션", "마운트", "정리"),
    ),
    (
        "update",
        (
            "update",
            "upgrade",
            "install",
            "apt",
            "yum",
            "dnf",
            "pip",
            "npm",
            "package",
            "patch",
            "dependency",
            "dependencies",
        ),
        ("업데이트", "업그레이드", "설치", "패키지", "패치"),
    ),
    (
        "deploy",
        (
            "deploy",
            "restart",
            "release",
            "rollout",
            "roll out",
            "reload",
            "start",
            "stop",
            "systemctl",
            "service",
            "docker",
            "container",
            "rollback",
        ),
        ("배포", "재시작", "재기동", "릴리스", "서비스", "컨테이너"),
    ),
    (
        "logs",
        (
            "log",
            "logs",
            "journal",
            "journalctl",
            "monitor",
            "monitoring",
            "alert",
            "uptime",
            "cpu",
            "memory",
            "load",
            "metrics",
            "health",
            "status",
            "error rate",
        ),
        ("로그", "모니터", "감시", "상태", "메모리", "알림", "점검"),
    ),
    (
        "research",
        (
            "research",
            "search",
            "find out",
            "compare",
            "investigate",
            "look up",
            "survey",
            "benchmark",
            "which is better",
            "alternatives",
        ),
        ("조사", "검색", "비교", "찾아", "리서치", "알아봐"),
    ),
    (
        "writing",
        (
            "write",
            "draft",
            "summarise",
            "summarize",
            "summary",
            "explain",
            "translate",
            "email",
            "letter",
            "document",
            "what",
            "why",
            "how",
            "who",
            "when",
            "?",
        ),
        ("작성", "요약", "설명", "번역", "문서", "써줘", "뭐", "왜", "어떻게", "무엇"),
    ),
)


_SUFFIX = r"(?:s|es|ed|d|ing|ment|ments|er|ers)?(?!\w)"
"""English words match whole, with a common ending: "disks", "restarted", "deployment"."""


def _pattern(english: tuple[str, ...], korean: tuple[str, ...]) -> re.Pattern[str]:
    words = [r"(?<!\w)" + re.escape(w) + _SUFFIX for w in english if w != "?"]
    extra = [re.escape(w) for w in korean] + ([re.escape("?")] if "?" in english else [])
    return re.compile("|".join(words + extra), re.IGNORECASE)


_PATTERNS = tuple((kind, _pattern(en, ko)) for kind, en, ko in _KEYWORDS)


def task_kind(mission: str) -> TaskKind:
    """The first kind whose words the mission holds, in the order disk, update, deploy,
    logs, research, writing; `other` when none."""
    for kind, pattern in _PATTERNS:
        if pattern.search(mission):
            return kind
    return "other"
