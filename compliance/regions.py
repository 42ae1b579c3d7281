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


# How text names a subject, strongest first:
# - its name with the type word, in either order ("Новосибирская обл", "Республика Бурятия"), or a name
#   that is unmistakable alone ("Москва", "Ханты-Мансийский", "Кабардино-Балкарская");
# - an alias: the bare noun ("Бурятия", "Кубань"), an abbreviation ("ХМАО"), a former subject now part
#   of this one ("Таймыр"), a Latin name. A city named with "г" (and not in that subject) beats it;
# - a city: the capital and other big towns, tried when no name or alias is found.
# An adjective without its type word is never a subject ("ул. Крымская", "Крымский р-н", "Бурятский
# округ" of Zabaykalsky krai), except when it is all the text says ("Омская").


@dataclass(frozen=True, slots=True)
class _SubjectInfo:
    zones: tuple[str, ...]
    name_pattern: str
    alias_pattern: str | None = None
    city_pattern: str | None = None


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that make the adjective next to them a street or district name: "ул Крымская", "Омский р-н".
_STREET_WORDS = _words(
    "ул улица пр пр-т пр-кт пркт просп проспект пер переулок бул б-р бульв бульвар ш шоссе наб набережная "
    "пл площадь проезд пр-д туп тупик мкр мкрн мкр-н микрорайон аллея линия тракт вал спуск въезд кв-л "
    "квартал дорога"
)
_DISTRICT_WORDS = _words("р-н район районы улус наслег округ")
# Where a street name ends: house parts, settlement and subject type words.
_STOP_WORDS = (
    _words(
        "д дом корп к стр строение кв квартира оф офис лит литера влд вл зд здание пом помещение "
        "г о м п пос поселок пгт рп с село дер деревня ст-ца станица х хутор аул снт обл край респ ао"
    )
    | _DISTRICT_WORDS
)
_ORDINAL = re.compile(r"\d+-?(?:я|й|ая|ий|ый|ой|е|ое|ья)")
_ADJECTIVE = re.compile(r"\w{2,}(?:ая|яя|ий|ый|ой|ое|ее|ые|ие|ья|ье)")
_NOT_A_SUBJECT_AFTER = "(?:" + "|".join(sorted(_STREET_WORDS | _DISTRICT_WORDS, key=len, reverse=True)) + ")"
_KINDS = ("обл", "край", "респ", "ао")


def _typed(stems: str, kinds: str) -> str:
    """The subject's adjective or noun next to its type word, either order: "Бурятская респ", "респ Бурятия"."""
    forward = (rf"(?<![\w-]){stem}\w*\s+(?:{kinds})\b" for stem in stems.split("|"))
    backward = (rf"\b{kind}\s+(?:{stems})\w*(?!\w|\s+{_NOT_A_SUBJECT_AFTER}\b)" for kind in kinds.split("|"))
    return "|".join((*forward, *backward))


def _oblast(stem: str) -> str:
    return _typed(stem, "обл")


def _krai(stem: str) -> str:
    return _typed(stem, "край")


def _republic(stems: str) -> str:
    return _typed(stems, "респ")


def _noun(*stems: str) -> str:
    """A town's name in its common cases, not its adjective: "Барнаул", "Барнаула", not "Барнаульская"."""
    return "|".join(rf"\b{stem}(?:а|у|е|ом)?\b" for stem in stems)


def _fem(*stems: str) -> str:
    """A name ending in -а/-я/-ь in its common cases: "Чита", "Читы", "Камчатка", "Пермь"."""
    return "|".join(rf"\b{stem}(?:а|я|ы|и|е|у|ю|ой|ей|ь|ью)\b" for stem in stems)


_MSK = ("Europe/Moscow",)
_YEKT = ("Asia/Yekaterinburg",)

_SUBJECTS: dict[Subject, _SubjectInfo] = {
    Subject.ADYGEA: _SubjectInfo(_MSK, _republic("адыге"), _fem("адыге"), _noun("майкоп", "maykop")),
    Subject.ALTAI_REPUBLIC: _SubjectInfo(
        ("Asia/Barnaul",), r"\bресп\s+алтай\b|\bалтай\s+респ\b", r"\bгорн\w*\s+алтай\b", _noun("горно-алтайск")
    ),
    Subject.BASHKORTOSTAN: _SubjectInfo(
        _YEKT,
        _republic("башкортостан|башкирск"),
        r"\bбашкортостан\w*|" + _fem("башкири") + r"|\bbashkortostan\b|\bbashkiria\b",
        r"\bуф[аеуы]\b|\bуфой\b|\bufa\b",
    ),
    Subject.BURYATIA: _SubjectInfo(
        ("Asia/Irkutsk",), _republic("бурят"), r"\bбурят(?:ия|ии|ию|ией)\b|\bburyatia\b", r"\bулан-удэ\b|\bulan-ude\b"
    ),
    Subject.DAGESTAN: _SubjectInfo(
        _MSK, _republic("дагестан"), _noun("дагестан") + r"|\bdagestan\b", _fem("махачкал") + r"|\bmakhachkala\b"
    ),
    Subject.INGUSHETIA: _SubjectInfo(_MSK, _republic("ингуш"), _fem("ингушети"), r"\bмагас\b"),
    Subject.KABARDINO_BALKARIA: _SubjectInfo(_MSK, r"\bкабардино-балкар", None, _noun("нальчик", "nalchik")),
    Subject.KALMYKIA: _SubjectInfo(_MSK, _republic("калмык|калмыцк"), _fem("калмыки"), _fem("элист") + r"|\belista\b"),
    Subject.KARACHAY_CHERKESSIA: _SubjectInfo(_MSK, r"\bкарачаево-черкес", None, _noun("черкесск", "карачаевск")),
    Subject.KARELIA: _SubjectInfo(
        _MSK, _republic("карел"), _fem("карели") + r"|\bkarelia\b", _noun("петрозаводск", "petrozavodsk")
    ),
    # "Коми-Пермяцкий округ" belongs to Perm krai, hence the look-ahead.
    Subject.KOMI: _SubjectInfo(
        _MSK,
        _republic("коми"),
        r"\bкоми\b(?!-)",
        _noun("сыктывкар", "syktyvkar") + "|" + _fem("воркут", "ухт"),
    ),
    Subject.CRIMEA: _SubjectInfo(
        ("Europe/Simferopol",),
        _republic("крым"),
        r"\bкрым(?:а|у|ом|е)?\b|\bcrimea\b",
        r"\bсимферопол(?:ь|я|ю|е|ем)\b|\bкерч(?:ь|и|ью)\b|\bевпатори(?:я|и|ю|ей)\b|\bфеодоси(?:я|и|ю|ей)\b"
        r"|" + _fem("ялт") + r"|\bsimferopol\b|\byalta\b",
    ),
    Subject.MARI_EL: _SubjectInfo(_MSK, r"\bмарий\b|" + _republic("марийск"), None, r"\bйошкар-ол"),
    Subject.MORDOVIA: _SubjectInfo(_MSK, _republic("мордов"), _fem("мордови"), _noun("саранск", "saransk")),
    Subject.SAKHA: _SubjectInfo(
        YAKUTIA_ZONES,
        _republic("саха|якут"),
        r"\bсаха\b|" + _fem("якути") + r"|\byakutia\b|\bsakha\b",
        _noun("якутск", "yakutsk", "нерюнгри"),
    ),
    Subject.NORTH_OSSETIA: _SubjectInfo(
        _MSK,
        r"\bсеверн\w*\s+осети|\bсеверо-осетинск|" + _fem("алани"),
        _fem("осети"),
        _noun("владикавказ", "vladikavkaz"),
    ),
    Subject.TATARSTAN: _SubjectInfo(
        _MSK,
        _republic("татарстан|татарск"),
        r"\bтатарстан\w*|\btatarstan\b",
        r"\bказан(?:ь|и|ью)\b|\bнабережн\w*\s+челн|\bkazan\b|\bnaberezhnye\s+chelny\b",
    ),
    Subject.TYVA: _SubjectInfo(
        ("Asia/Krasnoyarsk",),
        _republic("тыв|тув"),
        r"\bтыв(?:а|ы|е|у|ой)\b|\bтув(?:а|ы|е|у|ой)\b|\btuva\b|\btyva\b",
        _noun("кызыл", "kyzyl"),
    ),
    Subject.UDMURTIA: _SubjectInfo(
        ("Europe/Samara",), _republic("удмурт"), _fem("удмурти"), _noun("ижевск", "izhevsk")
    ),
    Subject.KHAKASSIA: _SubjectInfo(
        ("Asia/Krasnoyarsk",), _republic("хакас"), _fem("хакаси"), _noun("абакан", "abakan")
    ),
    Subject.CHECHNYA: _SubjectInfo(
        _MSK, _republic("чечен|чечн"), _fem("чечн") + r"|\bchechnya\b", r"\bгрозн(?:ый|ом|ого|ому)\b|\bgrozny\b"
    ),
    Subject.CHUVASHIA: _SubjectInfo(
        _MSK, _republic("чуваш"), _fem("чуваши"), r"\bчебоксар(?:ы|ах|ам|ами)\b|\bcheboksary\b"
    ),
    Subject.DONETSK: _SubjectInfo(
        _MSK, r"\bдонецк\w*\s+народн|\bнародн\w*\s+донецк", r"\bднр\b", _noun("донецк", "donetsk")
    ),
    Subject.LUGANSK: _SubjectInfo(
        _MSK, r"\bлуганск\w*\s+народн|\bнародн\w*\s+луганск", r"\bлнр\b", _noun("луганск", "lugansk", "luhansk")
    ),
    Subject.ALTAI_KRAI: _SubjectInfo(("Asia/Barnaul",), _krai("алтайск"), None, _noun("барнаул", "бийск", "barnaul")),
    Subject.ZABAYKALSKY: _SubjectInfo(
        ("Asia/Chita",),
        _krai("забайкальск") + "|" + _oblast("читинск"),
        # Aginsky Buryat okrug is part of the krai since 2008.
        r"\bзабайкаль(?:е|я|ю|ем)\b|\bагинск",
        _fem("чит") + r"|\bchita\b",
    ),
    Subject.KAMCHATKA: _SubjectInfo(
        ("Asia/Kamchatka",),
        _typed("камчатск", "край|обл"),
        _fem("камчатк") + r"|\bкорякск|\bkamchatka\b",
        r"\bпетропавловск-камчатск|\bpetropavlovsk-kamchatsk|" + _noun("елизов"),
    ),
    Subject.KRASNODAR: _SubjectInfo(
        _MSK,
        _krai("краснодарск"),
        r"\bкубан(?:ь|и|ью)\b|\bkuban\b",
        _noun("краснодар", "krasnodar", "крымск", "новороссийск", "геленджик")
        + "|"
        + _fem("анап")
        + r"|\bсочи\b|\bsochi\b",
    ),
    Subject.KRASNOYARSK: _SubjectInfo(
        ("Asia/Krasnoyarsk",),
        _krai("красноярск"),
        # Taimyr and Evenkia are districts of the krai since 2007.
        r"\bтаймыр|\bэвенкийск|" + _fem("эвенки"),
        _noun("красноярск", "krasnoyarsk", "норильск", "norilsk"),
    ),
    Subject.PERM: _SubjectInfo(_YEKT, _typed("пермск", "край|обл"), r"\bкоми-пермяц", r"\bперм(?:ь|и|ью)\b|\bperm\b"),
    Subject.PRIMORYE: _SubjectInfo(
        ("Asia/Vladivostok",),
        _krai("приморск"),
        r"\bприморь(?:е|я|ю|ем)\b|\bprimorye\b",
        _noun("владивосток", "vladivostok", "уссурийск"),
    ),
    Subject.STAVROPOL: _SubjectInfo(
        _MSK, _krai("ставропольск"), None, r"\bставропол(?:ь|я|ю|е|ем)\b|\bstavropol\b|" + _noun("пятигорск")
    ),
    Subject.KHABAROVSK: _SubjectInfo(
        ("Asia/Vladivostok",),
        _krai("хабаровск"),
        None,
        _noun("хабаровск", "khabarovsk") + r"|\bкомсомольск-на-амуре\b",
    ),
    Subject.AMUR: _SubjectInfo(("Asia/Yakutsk",), _oblast("амурск"), None, _noun("благовещенск", "blagoveshchensk")),
    Subject.ARKHANGELSK: _SubjectInfo(
        _MSK, _oblast("архангельск"), None, _noun("архангельск", "arkhangelsk", "северодвинск")
    ),
    Subject.ASTRAKHAN: _SubjectInfo(
        ("Europe/Astrakhan",), _oblast("астраханск"), None, r"\bастрахан(?:ь|и|ью)\b|\bastrakhan\b"
    ),
    Subject.BELGOROD: _SubjectInfo(_MSK, _oblast("белгородск"), None, _noun("белгород", "belgorod")),
    Subject.BRYANSK: _SubjectInfo(_MSK, _oblast("брянск"), None, _noun("брянск", "bryansk")),
    Subject.VLADIMIR: _SubjectInfo(_MSK, _oblast("владимирск"), None, r"\bг\s+владимир\b"),
    Subject.VOLGOGRAD: _SubjectInfo(
        ("Europe/Volgograd",), _oblast("волгоградск"), None, _noun("волгоград", "volgograd")
    ),
    Subject.VOLOGDA: _SubjectInfo(
        _MSK, _oblast("вологодск"), None, _fem("вологд") + r"|\bvologda\b|\bчереповец\b|\bчереповц(?:а|у|е|ом)\b"
    ),
    Subject.VORONEZH: _SubjectInfo(_MSK, _oblast("воронежск"), None, r"\bворонеж(?:а|у|е|ем)?\b|\bvoronezh\b"),
    Subject.ZAPOROZHYE: _SubjectInfo(_MSK, _oblast("запорожск"), None, r"\bмелитопол(?:ь|я|ю|е|ем)\b"),
    Subject.IVANOVO: _SubjectInfo(_MSK, _oblast("ивановск"), None, r"\bг\s+иваново\b"),
    Subject.IRKUTSK: _SubjectInfo(
        ("Asia/Irkutsk",),
        _oblast("иркутск"),
        # Ust-Orda Buryat okrug is part of the oblast since 2008.
        r"\bусть-ордынск",
        _noun("иркутск", "irkutsk", "братск"),
    ),
    Subject.KALININGRAD: _SubjectInfo(
        ("Europe/Kaliningrad",), _oblast("калининградск"), None, _noun("калининград", "kaliningrad")
    ),
    Subject.KALUGA: _SubjectInfo(_MSK, _oblast("калужск"), None, _fem("калуг") + r"|\bkaluga\b"),
    Subject.KEMEROVO: _SubjectInfo(
        ("Asia/Novokuznetsk",),
        _oblast("кемеровск"),
        _noun("кузбасс", "kuzbass"),
        r"\bкемерово\b|\bkemerovo\b|" + _noun("новокузнецк", "novokuznetsk"),
    ),
    Subject.KIROV: _SubjectInfo(("Europe/Kirov",), _oblast("кировск"), None, r"\bкиров\b"),
    Subject.KOSTROMA: _SubjectInfo(_MSK, _oblast("костромск"), None, _fem("костром") + r"|\bkostroma\b"),
    Subject.KURGAN: _SubjectInfo(_YEKT, _oblast("курганск"), None, _noun("курган", "kurgan")),
    Subject.KURSK: _SubjectInfo(_MSK, _oblast("курск"), None, _noun("курск", "kursk")),
    Subject.LENINGRAD: _SubjectInfo(_MSK, _oblast("ленинградск")),
    Subject.LIPETSK: _SubjectInfo(_MSK, _oblast("липецк"), None, _noun("липецк", "lipetsk")),
    Subject.MAGADAN: _SubjectInfo(("Asia/Magadan",), _oblast("магаданск"), None, _noun("магадан", "magadan")),
    Subject.MOSCOW_OBLAST: _SubjectInfo(_MSK, _oblast("московск"), r"\bподмосковь(?:е|я|ю|ем)\b"),
    Subject.MURMANSK: _SubjectInfo(_MSK, _oblast("мурманск"), None, _noun("мурманск", "murmansk")),
    Subject.NIZHNY_NOVGOROD: _SubjectInfo(
        _MSK, _oblast("нижегородск"), None, r"\bнижн\w*\s+новгород|\bnizhn\w*\s+novgorod\b"
    ),
    Subject.NOVGOROD: _SubjectInfo(_MSK, _oblast("новгородск"), None, r"\bвелик\w*\s+новгород|\bveliky\s+novgorod\b"),
    Subject.NOVOSIBIRSK: _SubjectInfo(
        ("Asia/Novosibirsk",), _oblast("новосибирск"), r"\bнсо\b", _noun("новосибирск", "novosibirsk")
    ),
    # (?<![\w-]) in _typed and \b here keep "томск" (Tomsk) from matching "омск".
    Subject.OMSK: _SubjectInfo(("Asia/Omsk",), _oblast("омск"), None, _noun("омск", "omsk")),
    Subject.ORENBURG: _SubjectInfo(_YEKT, _oblast("оренбургск"), None, _noun("оренбург", "orenburg", "орск")),
    Subject.OREL: _SubjectInfo(_MSK, _oblast("орловск"), None, r"\bг\s+орел\b"),
    Subject.PENZA: _SubjectInfo(_MSK, _oblast("пензенск"), None, _fem("пенз") + r"|\bpenza\b"),
    Subject.PSKOV: _SubjectInfo(_MSK, _oblast("псковск"), None, _noun("псков", "pskov")),
    Subject.ROSTOV: _SubjectInfo(
        _MSK,
        _oblast("ростовск"),
        None,
        r"\bростов(?:а|у|е|ом)?-на-дону\b|\brostov-on-don\b|\brostov-na-donu\b|" + _noun("таганрог"),
    ),
    Subject.RYAZAN: _SubjectInfo(_MSK, _oblast("рязанск"), None, r"\bрязан(?:ь|и|ью)\b|\bryazan\b"),
    Subject.SAMARA: _SubjectInfo(
        ("Europe/Samara",), _oblast("самарск"), None, _fem("самар") + r"|\bтольятти\b|\bsamara\b|\btolyatti\b"
    ),
    Subject.SARATOV: _SubjectInfo(("Europe/Saratov",), _oblast("саратовск"), None, _noun("саратов", "saratov")),
    Subject.SAKHALIN: _SubjectInfo(
        ("Asia/Sakhalin",),
        _oblast("сахалинск"),
        r"\bкурильск|" + _noun("сахалин", "sakhalin"),
        _noun("южно-сахалинск", "yuzhno-sakhalinsk"),
    ),
    Subject.SVERDLOVSK: _SubjectInfo(
        _YEKT,
        _oblast("свердловск"),
        None,
        _noun("екатеринбург", "yekaterinburg", "ekaterinburg") + r"|\bнижн\w*\s+тагил",
    ),
    Subject.SMOLENSK: _SubjectInfo(_MSK, _oblast("смоленск"), None, _noun("смоленск", "smolensk")),
    Subject.TAMBOV: _SubjectInfo(_MSK, _oblast("тамбовск"), None, _noun("тамбов", "tambov")),
    Subject.TVER: _SubjectInfo(_MSK, _oblast("тверск"), None, r"\bтвер(?:ь|и|ью)\b|\btver\b"),
    Subject.TOMSK: _SubjectInfo(("Asia/Tomsk",), _oblast("томск"), None, _noun("томск", "tomsk")),
    Subject.TULA: _SubjectInfo(_MSK, _oblast("тульск"), None, r"\bтул(?:а|ы|е|у|ой)\b|\btula\b"),
    Subject.TYUMEN: _SubjectInfo(_YEKT, _oblast("тюменск"), None, r"\bтюмен(?:ь|и|ью)\b|\btyumen\b"),
    Subject.ULYANOVSK: _SubjectInfo(("Europe/Ulyanovsk",), _oblast("ульяновск"), None, _noun("ульяновск", "ulyanovsk")),
    Subject.KHERSON: _SubjectInfo(_MSK, _oblast("херсонск"), None, _noun("геническ")),
    Subject.CHELYABINSK: _SubjectInfo(
        _YEKT, _oblast("челябинск"), None, _noun("челябинск", "chelyabinsk", "магнитогорск")
    ),
    Subject.YAROSLAVL: _SubjectInfo(_MSK, _oblast("ярославск"), None, r"\bярославл(?:ь|я|ю|е|ем)\b|\byaroslavl\b"),
    Subject.MOSCOW: _SubjectInfo(_MSK, r"\bмоскв(?:а|ы|е|у|ой)\b", r"\bmoscow\b|\bmoskva\b"),
    Subject.SAINT_PETERSBURG: _SubjectInfo(
        _MSK,
        r"\bсанкт-петербург(?:а|у|е|ом)?\b|\bпетербург(?:а|у|е|ом)?\b|\bленинград(?:а|у|е|ом)?\b",
        r"\bспб\b|\b(?:saint|st)[\s-]petersburg\b|\bsankt-peterburg\b|\bpetersburg\b",
    ),
    Subject.SEVASTOPOL: _SubjectInfo(("Europe/Simferopol",), r"\bсевастопол(?:ь|я|ю|е|ем)\b", r"\bsevastopol\b"),
    Subject.JEWISH_AO: _SubjectInfo(
        ("Asia/Vladivostok",),
        r"(?<![\w-])еврейск\w*\s+(?:автономн\w*\s+)?(?:обл|ао)\b",
        r"\bеао\b",
        _noun("биробиджан", "birobidzhan"),
    ),
    # (?<![\w-]): not the Yamalo-Nenets AO, nor Taimyr's "Долгано-Ненецкий" district.
    Subject.NENETS: _SubjectInfo(_MSK, r"(?<![\w-])ненецк\w*\s+(?:ао|округ)\b", r"\bнао\b", _noun("нарьян-мар")),
    Subject.KHANTY_MANSI: _SubjectInfo(
        _YEKT,
        r"\bханты-манси|\bханты\s+манси",
        _fem("югр") + r"|\bхмао\b|\byugra\b",
        _noun("сургут", "surgut", "нижневартовск"),
    ),
    Subject.CHUKOTKA: _SubjectInfo(
        ("Asia/Anadyr",), _typed("чукотск", "ао|округ"), _fem("чукотк") + r"|\bчао\b", r"\bанадыр(?:ь|я|ю|е|ем)\b"
    ),
    Subject.YAMALO_NENETS: _SubjectInfo(
        _YEKT,
        r"\bямало-ненецк",
        r"\bянао\b|\bямал(?:а|у|е|ом)?\b",
        _noun("салехард", "ноябрьск") + r"|\bнов\w*\s+уренго",
    ),
}


_WORD_START = re.compile(r"(\\b|\(\?<!\[\\w-\]\))([^\W\d_][\w-]*)")


def _literal_first(pattern: str) -> str:
    r"""The same pattern with `\bкурск` written `курск(?<!\wкурск)` (and `(?<![\w-])` alike).

    A branch that starts with a literal lets `re` skip ahead to where it occurs instead of trying every
    position: several times faster over the ~200 patterns tried on each address.
    """

    def rewrite(match: re.Match[str]) -> str:
        literal, rest = match.group(2), ""
        end = match.end()
        if end < len(pattern) and pattern[end] in "?*+{":
            literal, rest = literal[:-1], literal[-1]  # the last letter is quantified: not part of it
        if len(literal) < 2:
            return match.group(0)
        before = r"\w" if match.group(1) == r"\b" else r"[\w-]"
        return f"{literal}(?<!{before}{literal}){rest}"

    return _WORD_START.sub(rewrite, pattern)


def _compiled(attribute: str) -> tuple[tuple[Subject, re.Pattern[str]], ...]:
    return tuple(
        (subject, re.compile(_literal_first(pattern)))
        for subject, info in _SUBJECTS.items()
        if (pattern := getattr(info, attribute)) is not None
    )


_NAME_RES = _compiled("name_pattern")
_ALIAS_RES = _compiled("alias_pattern")
_CITY_RES = _compiled("city_pattern")
# A city named with "г": subjects that are cities count as well.
_TOWN_RES = _CITY_RES + tuple(
    (subject, regex)
    for subject, regex in _NAME_RES
    if subject in (Subject.MOSCOW, Subject.SAINT_PETERSBURG, Subject.SEVASTOPOL)
)

# Yakutia spans three offsets (107-FZ art. 5 as amended by 248-FZ of 2014); the tz database zones of its
# parts (zone1970.tab): Asia/Yakutsk "Lena River" and Asia/Khandyga "Tomponsky, Ust-Maysky" (both MSK+6),
# Asia/Ust-Nera "Oymyakonsky" (MSK+7), Asia/Srednekolymsk "Sakha (E)" (MSK+8). The Verkhoyansky and
# Ust-Yansky districts are MSK+7 as well, in no zone of their own: Asia/Vladivostok.
# Only a district or settlement named here narrows the republic; anything else keeps every candidate.
_YAKUTIA_PLACE_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "Asia/Yakutsk",
        r"\bякутск(?:а|у|е|ом)?\b|\bжатай|\bалдан|\bамг(?:а|и|е|инск)|\bанабарск|\bсаскылах|\bбулунск|\bтикси\b"
        r"|\bверхневилюйск|\bвилюйск|\bгорн\w*\s+(?:улус|р-н|район)|\bбердигестях|\bжиганск|\bкобяйск"
        r"|\bсангар|\bленск|\bмегино-кангаласск|\bнижн\w*\s+бестях|\bмирн(?:ый|ого|ом|ому|инск\w*)\b"
        r"|\bудачн|\bайхал|\bнамск|\bнамц|\bнерюнгр|\bчульман|\bберкакит|\bнюрб|\bолекминск|\bоленек"
        r"|\bсунтар|\bтаттинск|\bытык-кюел|\bусть-алданск|\bборогонц|\bхангаласск|\bпокровск|\bчурапч"
        r"|\bэвено-бытантайск|\bбатагай-алыт|\bтоммот|\bкуранах",
    ),
    (
        "Asia/Khandyga",
        r"\bтомпонск|\bхандыг|\bджебарики|\bтополин|\bкрест-хальджа|\bусть-майск|\bусть-ма(?:я|и|е|ю|ей)\b"
        r"|\bэльдикан",
    ),
    ("Asia/Ust-Nera", r"\bоймякон|\bусть-нер|\bтомтор|\bючюгей|\bкуйдусун|\bтерютт"),
    (
        "Asia/Vladivostok",
        r"\bверхоянск|\bбатагай(?!-)|\bэге-ха|\bсартанг|\bусть-янск|\bдепутатск|\bусть-куйг|\bказачье\b"
        r"|\bнижнеянск",
    ),
    (
        "Asia/Srednekolymsk",
        r"\bабыйск|\bбел(?:ая|ой)\s+гор|\bкуберган|\bаллаиховск|\bчокурдах|\bрусско(?:е|м)\s+усть"
        r"|\bверхнеколымск|\bзырянк|\bугольное\b|\bнелемн|\bмомск|\bхону(?:у)?\b|\bсасыр"
        r"|\bнижнеколымск|\bчерск(?:ий|ого|ом)\b|\bпоходск|\bандрюшкин|\bсреднеколымск|\bсватай",
    ),
)
_YAKUTIA_PLACES = tuple((zone, re.compile(_literal_first(pattern))) for zone, pattern in _YAKUTIA_PLACE_PATTERNS)

_TYPE_WORDS = {
    "обл": r"\bобл(?:асть|асти|астью|астей)?\b",
    "край": r"\bкра(?:й|я|е|ю|ем|и)\b|\bкр\b",
    "респ": r"\bреспублик(?:а|и|е|у|ой)?\b|\bресп\b",
    "ао": r"\bавтономн\w*\s+округ\w*|\bао\b",
    "г": r"\bгород(?:а|е|у|ом)?\b|\bгор\b",
}
# One pass: group n (no other group captures) is the n-th type word.
_TYPE_WORD = re.compile("|".join(f"({_literal_first(pattern)})" for pattern in _TYPE_WORDS.values()))
_TYPE_REPLACEMENTS = dict(enumerate(_TYPE_WORDS, 1))
_NOT_WORDS = re.compile(r"[^\w\-]+")
_HYPHEN = re.compile(r"\s*-\s*")
_SPACES = re.compile(r"\s+")
_COMPONENTS = re.compile(r"[,;|*\n]+")


def normalize_region(text: str) -> str:
    """Lower case, `ё`→`е`, punctuation to spaces, type words unified (`область`/`обл.` → `обл`)."""
    value = text.lower().replace("ё", "е").replace("—", "-").replace("–", "-")
    value = _HYPHEN.sub("-", _NOT_WORDS.sub(" ", value))
    value = _TYPE_WORD.sub(lambda match: _TYPE_REPLACEMENTS[match.lastindex or 0], value)
    return _SPACES.sub(" ", value).strip(" -")


@dataclass(frozen=True, slots=True)
class _Evidence:
    text: str  # normalized, street names blanked ("#"), parts of the address separated by " , "
    towns: str  # what follows "г" in each part ("г новосибирск , г бердск"), "" if none
    single: str  # the whole text when it is one word ("омская"), else ""


def _blank_streets(words: list[str]) -> list[str]:
    kept = list(words)
    for index, word in enumerate(words):
        if word not in _STREET_WORDS:
            continue
        kept[index] = "#"
        # "ул Крымская", "ул 1-я Бурятская": the name after the street word, up to the house.
        after = index + 1
        while after < len(words):
            following = words[after]
            if following in _STOP_WORDS or following in _STREET_WORDS:
                break
            if following[:1].isdigit() and not _ORDINAL.fullmatch(following):
                break
            kept[after] = "#"
            after += 1
        # "Крымская ул", "Красная Бурятская ул": adjectives before it.
        before = index - 1
        while before >= 0 and index - before <= 2 and _ADJECTIVE.fullmatch(words[before]):
            kept[before] = "#"
            before -= 1
    return kept


def _towns(words: list[str]) -> list[str]:
    """Places named with "г" in one part of an address: "г новосибирск", "новосибирск г"."""
    towns: list[str] = []
    for index, word in enumerate(words):
        if word != "г":
            continue
        after = index + 1
        name: list[str] = []
        while after < len(words) and words[after] not in _STOP_WORDS and words[after] != "#":
            name.append(words[after])
            after += 1
        if not name and index == len(words) - 1:
            before = index - 1
            while before >= 0 and words[before] not in _STOP_WORDS and words[before] != "#":
                name.insert(0, words[before])
                before -= 1
        if name:
            towns.append("г " + " ".join(name))
    return towns


@lru_cache(maxsize=4096)
def _evidence(text: str) -> _Evidence:
    parts: list[str] = []
    towns: list[str] = []
    # "_" (a word character, so normalization keeps it) stands for the separators of address parts.
    for component in normalize_region(_COMPONENTS.sub(" _ ", text.replace("_", " "))).split("_"):
        normalized = component.strip(" -")
        if not normalized:
            continue
        words = _blank_streets(normalized.split(" "))
        parts.append(" ".join(words))
        towns.extend(_towns(words))
    single = parts[0] if len(parts) == 1 and " " not in parts[0] and parts[0] != "#" else ""
    return _Evidence(" , ".join(parts), " , ".join(towns), single)


def _in_order(subjects: set[Subject]) -> tuple[Subject, ...]:
    return tuple(subject for subject in _SUBJECTS if subject in subjects)


@lru_cache(maxsize=4096)
def match_subjects(text: str) -> tuple[Subject, ...]:
    """Federal subjects named in `text` (a registry `Регион`, a region column or a free address).

    Street names never count ("г. Новосибирск, ул. Крымская" is Novosibirsk), nor adjectives without
    their type word ("Крымский р-н", "г. Крымск"). A subject named with its type word wins over cities,
    so that "Благовещенск, Республика Башкортостан" stays in Bashkortostan; a bare alias ("Кубань",
    "ХМАО") loses to a different city named with "г". Capitals and big cities are tried only when no
    subject is named. Order follows `Subject`.
    """
    evidence = _evidence(text)
    if not evidence.text:
        return ()
    found = {subject for subject, regex in _NAME_RES if regex.search(evidence.text)}
    aliases = {subject for subject, regex in _ALIAS_RES if regex.search(evidence.text)}
    towns = {subject for subject, regex in _TOWN_RES if regex.search(evidence.towns)} if evidence.towns else set()
    if aliases and towns and not aliases & towns:
        aliases = set()  # "г. Новосибирск, Кубань": the city named as one, not the loose word
    found |= aliases
    if not found and evidence.single and _ADJECTIVE.fullmatch(evidence.single):
        # A bare adjective is all the text says: "Омская", "Свердловская", "Алтайский".
        for kind in _KINDS:
            typed = f"{evidence.single} {kind}"
            found.update(subject for subject, regex in _NAME_RES if regex.search(typed))
    if found:
        return _in_order(found)
    if towns:
        return _in_order(towns)
    return tuple(subject for subject, regex in _CITY_RES if regex.search(evidence.text))


def subject_zones(subject: Subject, detail: str = "") -> tuple[str, ...]:
    """IANA zones of `subject`; for Yakutia, `detail` (address or `Территория ГАР`) may narrow them."""
    if subject is not Subject.SAKHA:
        return _SUBJECTS[subject].zones
    if not detail:
        return YAKUTIA_ZONES
    text = _evidence(detail).text
    return tuple(zone for zone, regex in _YAKUTIA_PLACES if regex.search(text)) or YAKUTIA_ZONES


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
