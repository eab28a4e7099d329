"""The 256-byte UCS-2LE text block of the four card types, decoded to a frozen `IdCard`.

Layouts (byte offsets, end exclusive), after GA 467 and vendors' public headers:
- resident ID: name 0–30, sex 30–32, nation 32–36, birth 36–52, address 52–122, number 122–158,
  authority 158–188, valid from 188–204, valid to 204–220; type flag 248 is a space;
- `J` HK/Macau/Taiwan residence permit: as resident, plus pass number 220–238, issue count 238–242;
- `I` foreigner PR card 2017: English name 0–120, sex 120–122, PR number 122–152, nationality
  152–158, Chinese name 158–188, valid from/to 188–220, birth 220–236, card version 236–240,
  authority code 240–248;
- `Y` foreigner PR card 2023: Chinese name 0–30, sex 30–32, renewal count 32–36, birth 36–52,
  English name 52–122 continued at 220–242, number 122–158, valid from/to 188–220, nationality
  242–248, link to the previous (2017) card number 250–256.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from common.pii import mask_address, mask_id_number, mask_name
from drivers.errors import FrameError
from drivers.idcard.frames import REASON_BAD_PAYLOAD, TEXT_BYTES
from drivers.idcard.idnumber import is_valid_id_number

LONG_TERM = "长期"
PAD_CHAR = " "
TYPE_FLAG_SPAN = (248, 250)


class CardType(Enum):
    """Card kind; the value is the name used in JSON records."""

    RESIDENT = "resident"
    HKMOTW_PERMIT = "hkmotw_permit"
    FOREIGN_PR_2017 = "foreign_pr_2017"
    FOREIGN_PR_2023 = "foreign_pr_2023"


TYPE_FLAGS: Mapping[str, CardType] = {
    "J": CardType.HKMOTW_PERMIT,
    "I": CardType.FOREIGN_PR_2017,
    "Y": CardType.FOREIGN_PR_2023,
}
FLAG_OF_TYPE: Mapping[CardType, str] = {kind: flag for flag, kind in TYPE_FLAGS.items()}


class Sex(Enum):
    """GB/T 2261.1 sex code meaning; the value is the name used in JSON records."""

    UNKNOWN = "unknown"
    MALE = "male"
    FEMALE = "female"
    UNSPECIFIED = "unspecified"


SEX_CODES: Mapping[str, Sex] = {
    "0": Sex.UNKNOWN,
    "1": Sex.MALE,
    "2": Sex.FEMALE,
    "9": Sex.UNSPECIFIED,
}

# GB 3304 nationality (ethnic group) codes, plus 97 and 98, plus 59 and 60: groups not in
# GB 3304 that some cards carry (issue 10 item 14); the card prints them with 人.
NATIONS: Mapping[str, str] = {
    "01": "汉",
    "02": "蒙古",
    "03": "回",
    "04": "藏",
    "05": "维吾尔",
    "06": "苗",
    "07": "彝",
    "08": "壮",
    "09": "布依",
    "10": "朝鲜",
    "11": "满",
    "12": "侗",
    "13": "瑶",
    "14": "白",
    "15": "土家",
    "16": "哈尼",
    "17": "哈萨克",
    "18": "傣",
    "19": "黎",
    "20": "傈僳",
    "21": "佤",
    "22": "畲",
    "23": "高山",
    "24": "拉祜",
    "25": "水",
    "26": "东乡",
    "27": "纳西",
    "28": "景颇",
    "29": "柯尔克孜",
    "30": "土",
    "31": "达斡尔",
    "32": "仫佬",
    "33": "羌",
    "34": "布朗",
    "35": "撒拉",
    "36": "毛南",
    "37": "仡佬",
    "38": "锡伯",
    "39": "阿昌",
    "40": "普米",
    "41": "塔吉克",
    "42": "怒",
    "43": "乌孜别克",
    "44": "俄罗斯",
    "45": "鄂温克",
    "46": "德昂",
    "47": "保安",
    "48": "裕固",
    "49": "京",
    "50": "塔塔尔",
    "51": "独龙",
    "52": "鄂伦春",
    "53": "赫哲",
    "54": "门巴",
    "55": "珞巴",
    "56": "基诺",
    "59": "穿青人",
    "60": "革家人",
    "97": "其他",
    "98": "外国血统中国籍人士",
}

Span = tuple[int, int]
Layout = Mapping[str, tuple[Span, ...]]

_RESIDENT: Layout = {
    "name": ((0, 30),),
    "sex_code": ((30, 32),),
    "nation_code": ((32, 36),),
    "birth": ((36, 52),),
    "address": ((52, 122),),
    "id_number": ((122, 158),),
    "authority": ((158, 188),),
    "valid_from": ((188, 204),),
    "valid_to": ((204, 220),),
}
LAYOUTS: Mapping[CardType, Layout] = {
    CardType.RESIDENT: _RESIDENT,
    CardType.HKMOTW_PERMIT: {
        **_RESIDENT,
        "pass_number": ((220, 238),),
        "issue_count": ((238, 242),),
    },
    CardType.FOREIGN_PR_2017: {
        "english_name": ((0, 120),),
        "sex_code": ((120, 122),),
        "id_number": ((122, 152),),
        "nation_code": ((152, 158),),
        "name": ((158, 188),),
        "valid_from": ((188, 204),),
        "valid_to": ((204, 220),),
        "birth": ((220, 236),),
        "card_version": ((236, 240),),
        "authority": ((240, 248),),
    },
    CardType.FOREIGN_PR_2023: {
        "name": ((0, 30),),
        "sex_code": ((30, 32),),
        "renewal_count": ((32, 36),),
        "birth": ((36, 52),),
        "english_name": ((52, 122), (220, 242)),
        "id_number": ((122, 158),),
        "valid_from": ((188, 204),),
        "valid_to": ((204, 220),),
        "nation_code": ((242, 248),),
        "previous_number_link": ((250, 256),),
    },
}


@dataclass(frozen=True, repr=False)
class IdCard:
    """One card's data. Holds clear PII: show the masked views, never log the fields."""

    card_type: CardType
    name: str  # Chinese name; "" when a foreigner's card has none
    sex_code: str
    nation_code: str  # GB 3304 for residents, ISO 3166 alpha-3 for foreigners, "" for permits
    birth: str  # YYYYMMDD
    id_number: str
    valid_from: str
    valid_to: str  # YYYYMMDD or 长期
    address: str = ""
    authority: str = ""  # issuing office; the acceptance-office code on 2017 PR cards
    english_name: str = ""
    pass_number: str = ""
    issue_count: str = ""
    card_version: str = ""
    renewal_count: str = ""
    previous_number_link: str = ""
    photo: bytes = b""  # vendor-compressed (WLT), opaque; see drivers.idcard.photo
    fingerprint: bytes | None = None
    appended_address: str | None = None

    @property
    def sex(self) -> Sex:
        """The sex code's meaning (unknown codes read as UNKNOWN)."""
        return SEX_CODES.get(self.sex_code, Sex.UNKNOWN)

    @property
    def nation(self) -> str:
        """Ethnic group for residents (raw code if unknown); nationality code for foreigners."""
        if self.card_type is CardType.RESIDENT:
            return NATIONS.get(self.nation_code, self.nation_code)
        return self.nation_code

    @property
    def display_name(self) -> str:
        """The Chinese name, or the English one when the card has no Chinese name."""
        return self.name or self.english_name

    @property
    def id_number_valid(self) -> bool:
        """Well-formed number with a real birth date and matching check digit (see idnumber)."""
        return is_valid_id_number(self.id_number)

    @property
    def name_masked(self) -> str:
        """The display name masked for screens and logs."""
        return mask_name(self.display_name)

    @property
    def id_number_masked(self) -> str:
        """The number with its middle hidden."""
        return mask_id_number(self.id_number)

    @property
    def address_masked(self) -> str:
        """The address cut to its province/city part."""
        return mask_address(self.address)

    def __repr__(self) -> str:
        return (
            f"IdCard({self.card_type.value}, id={self.id_number_masked}, "
            f"valid={self.id_number_valid}, photo=<{len(self.photo)} bytes>)"
        )


def _text(raw: bytes) -> str:
    return raw.decode("utf-16-le", errors="replace").replace("\x00", "").strip()


def card_type_of(text: bytes) -> CardType:
    """The card type from the flag at byte 248 (anything unknown reads as a resident card)."""
    flag = _text(text[TYPE_FLAG_SPAN[0] : TYPE_FLAG_SPAN[1]])
    return TYPE_FLAGS.get(flag, CardType.RESIDENT)


def decode_text_block(text: bytes) -> IdCard:
    """Decode the 256-byte text block; FrameError if it is not 256 bytes, never on content."""
    if len(text) != TEXT_BYTES:
        raise FrameError(REASON_BAD_PAYLOAD, length=len(text))
    card_type = card_type_of(text)
    fields: dict[str, Any] = {
        field: _text(b"".join(text[start:end] for start, end in spans))
        for field, spans in LAYOUTS[card_type].items()
    }
    return IdCard(card_type=card_type, **fields)


def decode_ucs2(raw: bytes) -> str:
    """A UCS-2LE, space-padded text item (e.g. the appended address)."""
    return _text(raw[: len(raw) - len(raw) % 2])


def encode_text_block(card: IdCard) -> bytes:
    """The inverse of `decode_text_block` (simulators, tests); ValueError if a field is too long."""
    block = bytearray(PAD_CHAR.encode("utf-16-le") * (TEXT_BYTES // 2))
    for field, spans in LAYOUTS[card.card_type].items():
        encoded = str(getattr(card, field)).encode("utf-16-le")
        capacity = sum(end - start for start, end in spans)
        if len(encoded) > capacity:
            raise ValueError(f"{field} does not fit its {capacity} bytes")
        encoded += PAD_CHAR.encode("utf-16-le") * ((capacity - len(encoded)) // 2)
        for start, end in spans:
            block[start:end], encoded = encoded[: end - start], encoded[end - start :]
    if card.card_type in FLAG_OF_TYPE:
        block[TYPE_FLAG_SPAN[0] : TYPE_FLAG_SPAN[1]] = FLAG_OF_TYPE[card.card_type].encode(
            "utf-16-le"
        )
    return bytes(block)


def with_media(card: IdCard, photo: bytes, fingerprint: bytes | None) -> IdCard:
    """The card with its photo and fingerprint attached."""
    return dataclasses.replace(card, photo=photo, fingerprint=fingerprint)
