"""Russian federal subjects, their IANA time zones, and matching of messy region/address text to them.

Zones follow Federal Law 107-FZ "Об исчислении времени" (as amended by 248-FZ of 2014 and later laws
that moved Astrakhan, Saratov, Ulyanovsk, Volgograd and others); the tz database names them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache


class Subject(StrEnum):
    """A federal subject of Russia; the value is its official name."""

    ADYGEA = "Республика Адыгея"
    ALTAI_REPUBLIC = "Республика Алтай"
    BASHKORTOSTAN = "Республика Башкортостан"
    BURYATIA = "Республика Бурятия"
    DAGESTAN = "Республика Дагестан"
    INGUSHETIA = "Республика Ингушетия"
    KABARDINO_BALKARIA = "Кабардино-Балкарская Республика"
    KALMYKIA = "Республика Калмыкия"
    KARACHAY_CHERKESSIA = "Карачаево-Черкесская Республика"
    KARELIA = "Республика Карелия"
    KOMI = "Республика Коми"
    CRIMEA = "Республика Крым"
    MARI_EL = "Республика Марий Эл"
    MORDOVIA = "Республика Мордовия"
    SAKHA = "Республика Саха (Якутия)"
    NORTH_OSSETIA = "Республика Северная Осетия — Алания"
    TATARSTAN = "Республика Татарстан"
    TYVA = "Республика Тыва"
    UDMURTIA = "Удмуртская Республика"
    KHAKASSIA = "Республика Хакасия"
    CHECHNYA = "Чеченская Республика"
    CHUVASHIA = "Чувашская Республика"
    DONETSK = "Донецкая Народная Республика"
    LUGANSK = "Луганская Народная Республика"
    ALTAI_KRAI = "Алтайский край"
    ZABAYKALSKY = "Забайкальский край"
    KAMCHATKA = "Камчатский край"
    KRASNODAR = "Краснодарский край"
    KRASNOYARSK = "Красноярский край"
    PERM = "Пермский край"
    PRIMORYE = "Приморский край"
    STAVROPOL = "Ставропольский край"
    KHABAROVSK = "Хабаровский край"
    AMUR = "Амурская область"
    ARKHANGELSK = "Архангельская область"
    ASTRAKHAN = "Астраханская область"
    BELGOROD = "Белгородская область"
    BRYANSK = "Брянская область"
    VLADIMIR = "Владимирская область"
    VOLGOGRAD = "Волгоградская область"
    VOLOGDA = "Вологодская область"
    VORONEZH = "Воронежская область"
    ZAPOROZHYE = "Запорожская область"
    IVANOVO = "Ивановская область"
    IRKUTSK = "Иркутская область"
    KALININGRAD = "Калининградская область"
    KALUGA = "Калужская область"
    KEMEROVO = "Кемеровская область — Кузбасс"
    KIROV = "Кировская область"
    KOSTROMA = "Костромская область"
    KURGAN = "Курганская область"
    KURSK = "Курская область"
    LENINGRAD = "Ленинградская область"
    LIPETSK = "Липецкая область"
    MAGADAN = "Магаданская область"
    MOSCOW_OBLAST = "Московская область"
    MURMANSK = "Мурманская область"
    NIZHNY_NOVGOROD = "Нижегородская область"
    NOVGOROD = "Новгородская область"
    NOVOSIBIRSK = "Новосибирская область"
    OMSK = "Омская область"
    ORENBURG = "Оренбургская область"
    OREL = "Орловская область"
    PENZA = "Пензенская область"
    PSKOV = "Псковская область"
    ROSTOV = "Ростовская область"
    RYAZAN = "Рязанская область"
    SAMARA = "Самарская область"
    SARATOV = "Саратовская область"
    SAKHALIN = "Сахалинская область"
    SVERDLOVSK = "Свердловская область"
    SMOLENSK = "Смоленская область"
    TAMBOV = "Тамбовская область"
    TVER = "Тверская область"
    TOMSK = "Томская область"
    TULA = "Тульская область"
    TYUMEN = "Тюменская область"
    ULYANOVSK = "Ульяновская область"
    KHERSON = "Херсонская область"
    CHELYABINSK = "Челябинская область"
    YAROSLAVL = "Ярославская область"
    MOSCOW = "Москва"
    SAINT_PETERSBURG = "Санкт-Петербург"
    SEVASTOPOL = "Севастополь"
    JEWISH_AO = "Еврейская автономная область"
    NENETS = "Ненецкий автономный округ"
    KHANTY_MANSI = "Ханты-Мансийский автономный округ — Югра"
    CHUKOTKA = "Чукотский автономный округ"
    YAMALO_NENETS = "Ямало-Ненецкий автономный округ"


# Yakutia spans three zones (107-FZ art. 5): MSK+6 for most of it, MSK+7 for the Oymyakonsky,
# Verkhoyansky and Ust-Yansky districts, MSK+8 for the six north-eastern districts.
YAKUTIA_ZONES: tuple[str, ...] = ("Asia/Yakutsk", "Asia/Ust-Nera", "Asia/Srednekolymsk")

# One zone per current Russian UTC offset, +2 .. +12: the candidates for a Russian number of unknown region.
RUSSIA_ZONES: tuple[str, ...] = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
)


@dataclass(frozen=True, slots=True)
class _SubjectInfo:
    zones: tuple[str, ...]
    # Matched against normalized text (see `normalize_region`): the subject's own name, in any spelling.
    name_pattern: str
    # Tried only when no subject name matched: the capital and other unambiguous cities.
    city_pattern: str | None = None


def _oblast(stem: str) -> str:
    # "<stem>ская обл" or "обл <stem>ская"; requiring the word "обл" keeps street names out
    # ("ул. Новосибирская" is not the Novosibirsk oblast).
    return rf"\b{stem}\w*\s+обл\b|\bобл\s+{stem}"


def _krai(stem: str) -> str:
    return rf"\b{stem}\w*\s+край\b|\bкрай\s+{stem}"


_MSK = ("Europe/Moscow",)
_YEKT = ("Asia/Yekaterinburg",)

_SUBJECTS: dict[Subject, _SubjectInfo] = {
    Subject.ADYGEA: _SubjectInfo(_MSK, r"\bадыге", r"\bмайкоп"),
    Subject.ALTAI_REPUBLIC: _SubjectInfo(
        ("Asia/Barnaul",), r"\bресп\s+алтай\b|\bалтай\s+респ\b|\bгорный\s+алтай", r"\bгорно-алтайск"
    ),
    Subject.BASHKORTOSTAN: _SubjectInfo(_YEKT, r"\bбашкорт|\bбашкир", r"\bуф[аеуы]\b"),
    Subject.BURYATIA: _SubjectInfo(("Asia/Irkutsk",), r"\bбурят", r"\bулан-удэ"),
    Subject.DAGESTAN: _SubjectInfo(_MSK, r"\bдагестан", r"\bмахачкал"),
    Subject.INGUSHETIA: _SubjectInfo(_MSK, r"\bингуш", r"\bмагас\b"),
    Subject.KABARDINO_BALKARIA: _SubjectInfo(_MSK, r"\bкабардин", r"\bнальчик"),
    Subject.KALMYKIA: _SubjectInfo(_MSK, r"\bкалмык", r"\bэлист"),
    Subject.KARACHAY_CHERKESSIA: _SubjectInfo(_MSK, r"\bкарачаев", r"\bчеркесск\b"),
    Subject.KARELIA: _SubjectInfo(_MSK, r"\bкарели", r"\bпетрозаводск"),
    # "Коми-Пермяцкий округ" belongs to Perm krai, hence the look-ahead.
    Subject.KOMI: _SubjectInfo(_MSK, r"\bкоми\b(?!-)", r"\bсыктывкар|\bворкут|\bухт[аеуы]\b"),
    Subject.CRIMEA: _SubjectInfo(("Europe/Simferopol",), r"\bкрым", r"\bсимферопол|\bкерч|\bялт"),
    Subject.MARI_EL: _SubjectInfo(_MSK, r"\bмарий\b", r"\bйошкар"),
    Subject.MORDOVIA: _SubjectInfo(_MSK, r"\bмордов", r"\bсаранск"),
    Subject.SAKHA: _SubjectInfo(YAKUTIA_ZONES, r"\bсаха\b|\bякути", r"\bякутск\b"),
    Subject.NORTH_OSSETIA: _SubjectInfo(_MSK, r"\bосети|\bалания\b", r"\bвладикавказ"),
    Subject.TATARSTAN: _SubjectInfo(_MSK, r"\bтатарстан", r"\bказан[ьиюе]\b|\bнабережн\w*\s+челн"),
    Subject.TYVA: _SubjectInfo(("Asia/Krasnoyarsk",), r"\bтыв[аыеуо]\b|\bтув[аыеуо]\b|\bтувинск", r"\bкызыл\b"),
    Subject.UDMURTIA: _SubjectInfo(("Europe/Samara",), r"\bудмурт", r"\bижевск"),
    Subject.KHAKASSIA: _SubjectInfo(("Asia/Krasnoyarsk",), r"\bхакас", r"\bабакан"),
    Subject.CHECHNYA: _SubjectInfo(_MSK, r"\bчечен|\bчечн", r"\bгрозн(?:ый|ом|ого)\b"),
    Subject.CHUVASHIA: _SubjectInfo(_MSK, r"\bчуваш", r"\bчебоксар"),
    Subject.DONETSK: _SubjectInfo(_MSK, r"\bдонецк\w*\s+народн|\bнародн\w*\s+донецк|\bднр\b", r"\bдонецк\b"),
    Subject.LUGANSK: _SubjectInfo(_MSK, r"\bлуганск\w*\s+народн|\bнародн\w*\s+луганск|\bлнр\b", r"\bлуганск\b"),
    Subject.ALTAI_KRAI: _SubjectInfo(("Asia/Barnaul",), _krai("алтайск"), r"\bбарнаул|\bбийск"),
    Subject.ZABAYKALSKY: _SubjectInfo(("Asia/Chita",), r"\bзабайкальск\w*\s+край", r"\bчит[аеуы]\b"),
    Subject.KAMCHATKA: _SubjectInfo(("Asia/Kamchatka",), _krai("камчатск") + r"|\bкорякск", r"\bкамчатск"),
    Subject.KRASNODAR: _SubjectInfo(_MSK, _krai("краснодарск") + r"|\bкубан", r"\bкраснодар\b|\bсочи\b"),
    Subject.KRASNOYARSK: _SubjectInfo(
        ("Asia/Krasnoyarsk",), _krai("красноярск") + r"|\bтаймыр|\bэвенк", r"\bкрасноярск\b|\bнорильск"
    ),
    Subject.PERM: _SubjectInfo(_YEKT, _krai("пермск") + r"|\bкоми-пермяц", r"\bперм[ьи]\b"),
    Subject.PRIMORYE: _SubjectInfo(("Asia/Vladivostok",), _krai("приморск") + r"|\bприморь", r"\bвладивосток"),
    Subject.STAVROPOL: _SubjectInfo(_MSK, _krai("ставропольск"), r"\bставропол[ьея]\b|\bпятигорск"),
    Subject.KHABAROVSK: _SubjectInfo(
        ("Asia/Vladivostok",), _krai("хабаровск"), r"\bхабаровск\b|\bкомсомольск-на-амуре"
    ),
    Subject.AMUR: _SubjectInfo(("Asia/Yakutsk",), _oblast("амурск"), r"\bблаговещенск\b"),
    Subject.ARKHANGELSK: _SubjectInfo(_MSK, _oblast("архангельск"), r"\bархангельск\b|\bсеверодвинск"),
    Subject.ASTRAKHAN: _SubjectInfo(("Europe/Astrakhan",), _oblast("астраханск"), r"\bастрахан"),
    Subject.BELGOROD: _SubjectInfo(_MSK, _oblast("белгородск"), r"\bбелгород\b"),
    Subject.BRYANSK: _SubjectInfo(_MSK, _oblast("брянск"), r"\bбрянск\b"),
    Subject.VLADIMIR: _SubjectInfo(_MSK, _oblast("владимирск"), r"\bг\s+владимир\b"),
    Subject.VOLGOGRAD: _SubjectInfo(("Europe/Volgograd",), _oblast("волгоградск"), r"\bволгоград\b"),
    Subject.VOLOGDA: _SubjectInfo(_MSK, _oblast("вологодск"), r"\bвологд|\bчереповец"),
    Subject.VORONEZH: _SubjectInfo(_MSK, _oblast("воронежск"), r"\bворонеж\b"),
    Subject.ZAPOROZHYE: _SubjectInfo(_MSK, _oblast("запорожск"), r"\bмелитопол"),
    Subject.IVANOVO: _SubjectInfo(_MSK, _oblast("ивановск"), r"\bг\s+иваново\b"),
    Subject.IRKUTSK: _SubjectInfo(("Asia/Irkutsk",), _oblast("иркутск"), r"\bиркутск\b|\bбратск\b"),
    Subject.KALININGRAD: _SubjectInfo(("Europe/Kaliningrad",), _oblast("калининградск"), r"\bкалининград\b"),
    Subject.KALUGA: _SubjectInfo(_MSK, _oblast("калужск"), r"\bкалуг"),
    Subject.KEMEROVO: _SubjectInfo(
        ("Asia/Novokuznetsk",), _oblast("кемеровск") + r"|\bкузбасс", r"\bкемерово\b|\bновокузнецк"
    ),
    Subject.KIROV: _SubjectInfo(("Europe/Kirov",), _oblast("кировск"), r"\bкиров\b"),
    Subject.KOSTROMA: _SubjectInfo(_MSK, _oblast("костромск"), r"\bкостром"),
    Subject.KURGAN: _SubjectInfo(_YEKT, _oblast("курганск"), r"\bкурган[еау]?\b"),
    Subject.KURSK: _SubjectInfo(_MSK, _oblast("курск"), r"\bкурск\b"),
    Subject.LENINGRAD: _SubjectInfo(_MSK, _oblast("ленинградск")),
    Subject.LIPETSK: _SubjectInfo(_MSK, _oblast("липецк"), r"\bлипецк\b"),
    Subject.MAGADAN: _SubjectInfo(("Asia/Magadan",), _oblast("магаданск"), r"\bмагадан\b"),
    Subject.MOSCOW_OBLAST: _SubjectInfo(_MSK, _oblast("московск") + r"|\bподмосков"),
    Subject.MURMANSK: _SubjectInfo(_MSK, _oblast("мурманск"), r"\bмурманск\b"),
    Subject.NIZHNY_NOVGOROD: _SubjectInfo(_MSK, _oblast("нижегородск"), r"\bнижн\w*\s+новгород"),
    Subject.NOVGOROD: _SubjectInfo(_MSK, _oblast("новгородск"), r"\bвелик\w*\s+новгород"),
    Subject.NOVOSIBIRSK: _SubjectInfo(("Asia/Novosibirsk",), _oblast("новосибирск"), r"\bновосибирск\b"),
    # \b keeps "томск" (Tomsk) from matching "омск".
    Subject.OMSK: _SubjectInfo(("Asia/Omsk",), _oblast("омск"), r"\bомск\b"),
    Subject.ORENBURG: _SubjectInfo(_YEKT, _oblast("оренбургск"), r"\bоренбург\b|\bорск\b"),
    Subject.OREL: _SubjectInfo(_MSK, _oblast("орловск"), r"\bг\s+орел\b"),
    Subject.PENZA: _SubjectInfo(_MSK, _oblast("пензенск"), r"\bпенз[аеуы]\b"),
    Subject.PSKOV: _SubjectInfo(_MSK, _oblast("псковск"), r"\bпсков\b"),
    Subject.ROSTOV: _SubjectInfo(_MSK, _oblast("ростовск"), r"\bростов-на-дону\b|\bтаганрог"),
    Subject.RYAZAN: _SubjectInfo(_MSK, _oblast("рязанск"), r"\bрязан[ьи]\b"),
    Subject.SAMARA: _SubjectInfo(("Europe/Samara",), _oblast("самарск"), r"\bсамар[аеуы]\b|\bтольятти"),
    Subject.SARATOV: _SubjectInfo(("Europe/Saratov",), _oblast("саратовск"), r"\bсаратов\b"),
    Subject.SAKHALIN: _SubjectInfo(("Asia/Sakhalin",), _oblast("сахалинск") + r"|\bкурильск", r"\bюжно-сахалинск"),
    Subject.SVERDLOVSK: _SubjectInfo(_YEKT, _oblast("свердловск"), r"\bекатеринбург|\bнижн\w*\s+тагил"),
    Subject.SMOLENSK: _SubjectInfo(_MSK, _oblast("смоленск"), r"\bсмоленск\b"),
    Subject.TAMBOV: _SubjectInfo(_MSK, _oblast("тамбовск"), r"\bтамбов\b"),
    Subject.TVER: _SubjectInfo(_MSK, _oblast("тверск"), r"\bтвер[ьи]\b"),
    Subject.TOMSK: _SubjectInfo(("Asia/Tomsk",), _oblast("томск"), r"\bтомск\b"),
    Subject.TULA: _SubjectInfo(_MSK, _oblast("тульск"), r"\bтул[аеуы]\b"),
    Subject.TYUMEN: _SubjectInfo(_YEKT, _oblast("тюменск"), r"\bтюмен[ьи]\b"),
    Subject.ULYANOVSK: _SubjectInfo(("Europe/Ulyanovsk",), _oblast("ульяновск"), r"\bульяновск\b"),
    Subject.KHERSON: _SubjectInfo(_MSK, _oblast("херсонск"), r"\bгеническ"),
    Subject.CHELYABINSK: _SubjectInfo(_YEKT, _oblast("челябинск"), r"\bчелябинск\b|\bмагнитогорск"),
    Subject.YAROSLAVL: _SubjectInfo(_MSK, _oblast("ярославск"), r"\bярославл"),
    Subject.MOSCOW: _SubjectInfo(_MSK, r"\bмоскв[аеуы]\b"),
    Subject.SAINT_PETERSBURG: _SubjectInfo(_MSK, r"\bпетербург|\bспб\b|\bленинград\b"),
    Subject.SEVASTOPOL: _SubjectInfo(("Europe/Simferopol",), r"\bсевастопол"),
    Subject.JEWISH_AO: _SubjectInfo(("Asia/Vladivostok",), r"\bеврейск", r"\bбиробиджан"),
    Subject.NENETS: _SubjectInfo(_MSK, r"(?<!ямало-)\bненецк", r"\bнарьян-мар"),
    Subject.KHANTY_MANSI: _SubjectInfo(_YEKT, r"\bханты|\bюгр[аыеу]\b", r"\bсургут|\bнижневартовск"),
    Subject.CHUKOTKA: _SubjectInfo(("Asia/Anadyr",), r"\bчукот", r"\bанадыр"),
    Subject.YAMALO_NENETS: _SubjectInfo(_YEKT, r"\bямало|\bянао\b", r"\bсалехард|\bновый\s+уренго"),
}

_NAME_RES: tuple[tuple[Subject, re.Pattern[str]], ...] = tuple(
    (subject, re.compile(info.name_pattern)) for subject, info in _SUBJECTS.items()
)
_CITY_RES: tuple[tuple[Subject, re.Pattern[str]], ...] = tuple(
    (subject, re.compile(info.city_pattern)) for subject, info in _SUBJECTS.items() if info.city_pattern
)

# Yakutia districts outside MSK+6 (107-FZ art. 5, as amended by 248-FZ of 2014).
_YAKUTIA_MSK7 = re.compile(r"\bоймякон|\bусть-нер")
_YAKUTIA_MSK7_VLADIVOSTOK = re.compile(r"\bверхоянск|\bусть-янск")
_YAKUTIA_MSK8 = re.compile(r"\bабыйск|\bаллаиховск|\bверхнеколымск|\bмомск|\bнижнеколымск|\bсреднеколымск|\bчерск")
# Text that names a place inside the republic (district, town, settlement), i.e. narrows it down.
_YAKUTIA_PLACE = re.compile(
    r"\bулус|\bр-н\b|\bм\s*р-н\b|\bрайон|\bг\b|\bго\b|\bг\s*о\b|\bгород\b|\bнаслег|\bпгт\b|\bпос\b|\bп\b|\bс\b"
    r"|\bякутск\b|\bмирн|\bнерюнгр|\bленск"
)

_TYPE_WORDS = (
    (re.compile(r"\bобл\w*"), "обл"),
    (re.compile(r"\bкра[йяеюи]\b|\bкр\b"), "край"),
    (re.compile(r"\bреспублик\w*|\bресп\b"), "респ"),
    (re.compile(r"\bавтономн\w*\s+округ\w*|\bао\b"), "ао"),
    (re.compile(r"\bгород\b"), "г"),
)


def normalize_region(text: str) -> str:
    """Lower case, `ё`→`е`, punctuation to spaces, type words unified (`область`/`обл.` → `обл`)."""
    value = text.lower().replace("ё", "е").replace("—", "-").replace("–", "-")
    value = re.sub(r"[^\w\-]+", " ", value)
    value = re.sub(r"\s*-\s*", "-", value)
    for pattern, replacement in _TYPE_WORDS:
        value = pattern.sub(replacement, value)
    return re.sub(r"\s+", " ", value).strip(" -")


@lru_cache(maxsize=4096)
def match_subjects(text: str) -> tuple[Subject, ...]:
    """Federal subjects named in `text` (a registry `Регион`, a region column or a free address).

    Subject names win; capitals and big cities are tried only when no subject is named, so that
    "Благовещенск, Республика Башкортостан" stays in Bashkortostan. Order follows `Subject`.
    """
    normalized = normalize_region(text)
    if not normalized:
        return ()
    named = tuple(subject for subject, regex in _NAME_RES if regex.search(normalized))
    if named:
        return named
    return tuple(subject for subject, regex in _CITY_RES if regex.search(normalized))


def subject_zones(subject: Subject, detail: str = "") -> tuple[str, ...]:
    """IANA zones of `subject`; for Yakutia, `detail` (address or `Территория ГАР`) may narrow to one."""
    if subject is not Subject.SAKHA:
        return _SUBJECTS[subject].zones
    normalized = normalize_region(detail)
    if _YAKUTIA_MSK7.search(normalized):
        return ("Asia/Ust-Nera",)
    if _YAKUTIA_MSK7_VLADIVOSTOK.search(normalized):
        return ("Asia/Vladivostok",)
    if _YAKUTIA_MSK8.search(normalized):
        return ("Asia/Srednekolymsk",)
    if _YAKUTIA_PLACE.search(normalized):
        return ("Asia/Yakutsk",)
    return YAKUTIA_ZONES


def zones_for_subjects(subjects: tuple[Subject, ...], detail: str = "") -> tuple[str, ...]:
    """Union of the zones of `subjects`, first-seen order, without duplicates."""
    zones: list[str] = []
    for subject in subjects:
        for zone in subject_zones(subject, detail):
            if zone not in zones:
                zones.append(zone)
    return tuple(zones)


@lru_cache(maxsize=4096)
def zones_for_text(text: str) -> tuple[str, ...]:
    """Zones of the subject(s) that `text` names; empty when it names none."""
    return zones_for_subjects(match_subjects(text), text)
