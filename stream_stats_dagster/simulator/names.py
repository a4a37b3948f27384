"""Word lists for the synthetic platform: countries, post names and titles.

Kept apart from the generator so that the generator reads as logic. Post names mix ASCII,
Korean and names with `-`/`_`, because the report rules that derive a post from a file name
must cope with all of them.
"""

from __future__ import annotations

# Viewer countries of a Korean creator platform, most popular first; the rest follow in a
# seeded order. ISO 3166-1 alpha-2.
TOP_COUNTRIES: tuple[str, ...] = (
    "KR", "US", "JP", "TW", "VN", "TH", "PH", "ID", "CA", "AU", "GB", "DE", "SG", "MY", "HK",
    "FR", "BR", "MX", "IN", "NZ", "ES", "IT", "NL", "CN", "MN",
)  # fmt: skip

ALL_COUNTRIES: tuple[str, ...] = (
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
)  # fmt: skip

# Big posts: file names are <post><sep><NNN>.mp4, e.g. lady001.mp4, lady-2-003.mp4.
BIG_POST_NAMES: tuple[str, ...] = (
    "lady", "lady-2", "dance", "summer_vibes", "night", "cafe", "vlog", "cover", "fancam",
    "study", "travel", "mukbang", "asmr", "daily", "love", "idol", "drama", "music", "stage",
    "behind", "practice", "live_clip", "ep", "movie-night", "pilates", "cooking", "gym",
    "인기포스트", "여름밤", "첫사랑", "브이로그", "먹방", "데일리", "댄스", "커버곡", "여행",
    "일상", "비하인드", "연습실", "무대",
)  # fmt: skip

BIG_POST_TITLES: tuple[str, ...] = (
    "첫사랑", "여름밤의 꿈", "우리들의 이야기", "비밀의 정원", "별이 빛나는 밤에", "오늘의 기분",
    "너의 목소리", "서울의 밤", "봄날", "푸른 바다", "그 해 겨울", "달빛 산책",
    "Lady Lovely", "Summer Nights", "City Lights", "Dance Practice", "Behind the Scenes",
    "Morning Routine", "Cafe Talk", "Travel Diary", "Cover Song Collection", "Live Stage",
)  # fmt: skip

# Small posts of the long tail of creators.
SMALL_POST_NAMES: tuple[str, ...] = (
    "clip", "video", "my clip ", "test", "intro", "short", "upload", "vid_", "part-",
    "영상", "클립", "하루", "고양이", "강아지", "funny", "tutorial", "review", "unboxing",
    "game", "play", "song", "moment", "memo", "scene", "take",
)  # fmt: skip

SMALL_POST_TITLES: tuple[str, ...] = (
    "My first video", "Weekend", "하루 일과", "우리집 고양이", "산책", "노래 연습", "Unboxing",
    "Game night", "리뷰", "Short clip", "Hello", "일상 기록",
)  # fmt: skip

SEPARATORS: tuple[str, ...] = ("", "", "", "-", "_")
