"""Synthetic sample cards of fictional people (check digits computed), for simulators and tests."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from drivers.idcard.card import LONG_TERM, CardType, IdCard
from drivers.idcard.frames import PHOTO_BYTES, PREAMBLE, encode_sam_id
from drivers.idcard.idnumber import check_digit_731, complete_gb11643

SAMPLE_SAM_ID = encode_sam_id(5, 1, 20240101, 12345, 67890)
FINGERPRINT_TEMPLATE_BYTES = 512


def _opaque(label: str, size: int) -> bytes:
    """Deterministic filler bytes standing in for vendor data; never contains the preamble."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}:{counter}".encode()).digest()
        counter += 1
    data = bytes(out[:size])
    return data.replace(PREAMBLE, b"\x00" * len(PREAMBLE))


def _wrong_check_digit(number: str) -> str:
    """The same number with a check digit that does not match."""
    return number[:-1] + ("1" if number[-1] != "1" else "2")


SAMPLE_PHOTO = b"WLT" + _opaque("photo", PHOTO_BYTES - 3)
SAMPLE_FINGERPRINT = _opaque("fingerprint", 2 * FINGERPRINT_TEMPLATE_BYTES)

_RESIDENT = IdCard(
    card_type=CardType.RESIDENT,
    name="陈样卡",
    sex_code="2",
    nation_code="01",
    birth="19900307",
    # 350503 泉州市丰泽区: a current district python-stdnum's area table does not know
    id_number=complete_gb11643("35050319900307002"),
    valid_from="20150101",
    valid_to="20350101",
    address="福建省泉州市丰泽区示例路88号试读小区3幢101室",
    authority="泉州市公安局丰泽分局",
    photo=SAMPLE_PHOTO,
)

SAMPLE_CARDS: Mapping[str, IdCard] = {
    "resident": _RESIDENT,
    "rare_name": IdCard(
        card_type=CardType.RESIDENT,
        name="龚䶮样",  # U+4DAE, CJK Extension A
        sex_code="1",
        nation_code="03",
        birth="19780912",
        id_number=complete_gb11643("64010419780912003"),
        valid_from="20100520",
        valid_to=LONG_TERM,
        address="宁夏回族自治区银川市兴庆区样板街1号",
        authority="银川市公安局兴庆区分局",
        photo=SAMPLE_PHOTO,
    ),
    "invalid_check_digit": IdCard(
        card_type=CardType.RESIDENT,
        name="错校验",
        sex_code="1",
        nation_code="02",
        birth="19851201",
        id_number=_wrong_check_digit(complete_gb11643("11010519851201001")),
        valid_from="20200101",
        valid_to="20400101",
        address="北京市朝阳区测试路9号",
        authority="北京市公安局朝阳分局",
        photo=SAMPLE_PHOTO,
    ),
    "fingerprint": IdCard(
        card_type=CardType.RESIDENT,
        name="指纹样",
        sex_code="9",
        nation_code="98",
        birth="20010615",
        id_number=complete_gb11643("44030520010615004"),
        valid_from="20190701",
        valid_to="20290701",
        address="广东省深圳市南山区演示大道100号",
        authority="深圳市公安局南山分局",
        photo=SAMPLE_PHOTO,
        fingerprint=SAMPLE_FINGERPRINT,
    ),
    "hkmotw_permit": IdCard(
        card_type=CardType.HKMOTW_PERMIT,
        name="黄港样",
        sex_code="1",
        nation_code="",
        birth="19851112",
        id_number=complete_gb11643("81000019851112001"),
        valid_from="20200601",
        valid_to="20250601",
        address="广东省深圳市福田区样例路2号",
        authority="深圳市公安局",
        pass_number="H90000001",  # noqa: S106 -- a fictional permit number, not a password
        issue_count="01",
        photo=SAMPLE_PHOTO,
    ),
    "foreign_pr_2017": IdCard(
        card_type=CardType.FOREIGN_PR_2017,
        name="萨样",
        english_name="SAMPLE, ALEX JORDAN",
        sex_code="1",
        nation_code="USA",
        birth="19850101",
        id_number="USA11008501011" + check_digit_731("USA11008501011"),
        valid_from="20170601",
        valid_to="20270601",
        card_version="02",
        authority="1100",
        photo=SAMPLE_PHOTO,
    ),
    "foreign_pr_2023": IdCard(
        card_type=CardType.FOREIGN_PR_2023,
        name="示例安娜",
        english_name="SAMPLE-EXAMPLE, ANNA MARIA THEODORA KATHARINA",
        sex_code="2",
        nation_code="USA",
        birth="19920415",
        id_number=complete_gb11643("91184019920415002"),
        valid_from="20230808",
        valid_to="20330807",
        renewal_count="00",
        photo=SAMPLE_PHOTO,
    ),
}
