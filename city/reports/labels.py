"""Words for the reports' codes, zh-CN and English (exports and pages share them).

The codes come from docs/contract/schemas (rating levels and reasons, session end reasons,
card types, QR kinds, guideline classes); a code not listed here is shown as it is.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

# The national 好差评 levels; the kiosk sends the same Chinese label with each level.
LEVELS: dict[int, tuple[str, str]] = {
    5: ("非常满意", "Very satisfied"),
    4: ("满意", "Satisfied"),
    3: ("基本满意", "Fairly satisfied"),
    2: ("不满意", "Dissatisfied"),
    1: ("非常不满意", "Very dissatisfied"),
}
CODES: dict[str, dict[str, tuple[str, str]]] = {
    "reason": {
        "waited_too_long": ("等待时间太长", "Waited too long"),
        "hard_to_use": ("机器不好操作", "Hard to use"),
        "information_unclear": ("说明看不明白", "Information unclear"),
        "could_not_finish": ("事情没办成", "Could not get it done"),
        "device_problem": ("设备出了问题", "A device did not work"),
        "other": ("其他", "Other"),
    },
    "ended": {
        "completed": ("正常完成", "Completed"),
        "user_exit": ("主动退出", "Left"),
        "idle_timeout": ("超时退出", "Timed out"),
        "error": ("出错", "Error"),
        "kiosk_restart": ("终端重启", "Kiosk restarted"),
    },
    "started": {
        "services": ("办事服务", "Services"),
        "health": ("健康小屋", "Health hut"),
        "activities": ("活动报名", "Activities"),
        "points": ("红色积分", "Red points"),
        "requests": ("群众诉求", "Requests"),
    },
    "identified": {"yes": ("已认证身份", "Identified"), "no": ("匿名", "Anonymous")},
    "card": {
        "resident": ("居民身份证", "Resident ID card"),
        "hkmotw_permit": ("港澳台居民居住证/通行证", "HK/Macau/Taiwan permit"),
        "foreign_pr_2017": ("外国人永久居留证(2017)", "Foreign PR card (2017)"),
        "foreign_pr_2023": ("外国人永久居留证(2023)", "Foreign PR card (2023)"),
    },
    "qr": {
        "medical_insurance_code": ("医保码", "Medical insurance code"),
        "e_social_security_card": ("电子社保卡", "e-Social security card"),
        "health_code": ("健康码", "Health code"),
        "url": ("网址", "URL"),
        "numeric": ("数字码", "Numeric code"),
        "unknown": ("未知", "Unknown"),
    },
    "class": {
        "normal": ("正常血压", "Normal"),
        "high_normal": ("正常高值", "High normal"),
        "grade_1": ("1级高血压", "Grade 1 hypertension"),
        "grade_2": ("2级高血压", "Grade 2 hypertension"),
        "grade_3": ("3级高血压", "Grade 3 hypertension"),
        "isolated_systolic": ("单纯收缩期高血压", "Isolated systolic hypertension"),
        "device_error": ("测量失败", "Device error"),
    },
    "status": {
        "open": ("待整改", "Open"),
        "answered": ("已答复", "Answered"),
        "closed": ("已办结", "Closed"),
    },
}
CLASS_ORDER = (
    "normal",
    "high_normal",
    "grade_1",
    "grade_2",
    "grade_3",
    "isolated_systolic",
    "device_error",
)


def pick(pair: tuple[str, str], lang: Lang) -> str:
    """The zh or en word of a pair."""
    return pair[0] if lang == "zh" else pair[1]


def level_label(level: int, lang: Lang) -> str:
    """非常满意 … 非常不满意 (or the English)."""
    pair = LEVELS.get(level)
    return str(level) if pair is None else pick(pair, lang)


def code_label(kind: str, code: str, lang: Lang) -> str:
    """The word for `code` of `kind` ('reason', 'card', …); the code itself when unknown."""
    pair = CODES.get(kind, {}).get(code)
    return code if pair is None else pick(pair, lang)


def ordered(kind: str, codes: set[str] | list[str]) -> list[str]:
    """Known codes in their listed order, then unknown ones sorted."""
    known = list(CODES.get(kind, {}))
    present = set(codes)
    return [c for c in known if c in present] + sorted(present - set(known))
