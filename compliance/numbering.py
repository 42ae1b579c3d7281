"""Russian geographic (ABC) codes and the federal subject each serves, from the Russian numbering plan.

Used in place of libphonenumber's time zones for Russian fixed-line numbers, which are wrong for several
subjects (Kaliningrad maps to Europe/Bucharest, which keeps daylight saving time; Saratov to Moscow time
though it is UTC+4 since 2016; Yakutia to one zone though it spans three). See tests for the full list.
"""

from __future__ import annotations

from compliance.regions import Subject, subject_zones

# ABC code (the digits after +7, 3 or 4 of them) -> subject. Longest prefix wins.
ABC_SUBJECTS: dict[str, Subject] = {
    "301": Subject.BURYATIA,
    "302": Subject.ZABAYKALSKY,
    "341": Subject.UDMURTIA,
    "342": Subject.PERM,
    "343": Subject.SVERDLOVSK,
    "345": Subject.TYUMEN,
    "346": Subject.KHANTY_MANSI,
    "347": Subject.BASHKORTOSTAN,
    "349": Subject.YAMALO_NENETS,
    "351": Subject.CHELYABINSK,
    "352": Subject.KURGAN,
    "353": Subject.ORENBURG,
    "365": Subject.CRIMEA,
    "381": Subject.OMSK,
    "382": Subject.TOMSK,
    "383": Subject.NOVOSIBIRSK,
    "384": Subject.KEMEROVO,
    "385": Subject.ALTAI_KRAI,
    "388": Subject.ALTAI_REPUBLIC,
    "390": Subject.KHAKASSIA,
    "391": Subject.KRASNOYARSK,
    "394": Subject.TYVA,
    "395": Subject.IRKUTSK,
    "401": Subject.KALININGRAD,
    "411": Subject.SAKHA,
    "413": Subject.MAGADAN,
    "415": Subject.KAMCHATKA,
    "416": Subject.AMUR,
    "421": Subject.KHABAROVSK,
    "423": Subject.PRIMORYE,
    "424": Subject.SAKHALIN,
    "426": Subject.JEWISH_AO,
    "427": Subject.CHUKOTKA,
    "471": Subject.KURSK,
    "472": Subject.BELGOROD,
    "473": Subject.VORONEZH,
    "474": Subject.LIPETSK,
    "475": Subject.TAMBOV,
    "481": Subject.SMOLENSK,
    "482": Subject.TVER,
    "483": Subject.BRYANSK,
    "484": Subject.KALUGA,
    "485": Subject.YAROSLAVL,
    "486": Subject.OREL,
    "487": Subject.TULA,
    "491": Subject.RYAZAN,
    "492": Subject.VLADIMIR,
    "493": Subject.IVANOVO,
    "494": Subject.KOSTROMA,
    "495": Subject.MOSCOW,
    "496": Subject.MOSCOW_OBLAST,
    "498": Subject.MOSCOW_OBLAST,
    "499": Subject.MOSCOW,
    "811": Subject.PSKOV,
    "812": Subject.SAINT_PETERSBURG,
    "813": Subject.LENINGRAD,
    "814": Subject.KARELIA,
    "815": Subject.MURMANSK,
    "816": Subject.NOVGOROD,
    "817": Subject.VOLOGDA,
    "818": Subject.ARKHANGELSK,
    "820": Subject.VOLOGDA,
    "821": Subject.KOMI,
    "831": Subject.NIZHNY_NOVGOROD,
    "833": Subject.KIROV,
    "834": Subject.MORDOVIA,
    "835": Subject.CHUVASHIA,
    "836": Subject.MARI_EL,
    "841": Subject.PENZA,
    "842": Subject.ULYANOVSK,
    "843": Subject.TATARSTAN,
    "844": Subject.VOLGOGRAD,
    "845": Subject.SARATOV,
    "846": Subject.SAMARA,
    "847": Subject.KALMYKIA,
    "848": Subject.SAMARA,
    "851": Subject.ASTRAKHAN,
    "855": Subject.TATARSTAN,
    "856": Subject.DONETSK,
    "857": Subject.LUGANSK,
    "861": Subject.KRASNODAR,
    "862": Subject.KRASNODAR,
    "863": Subject.ROSTOV,
    "865": Subject.STAVROPOL,
    "866": Subject.KABARDINO_BALKARIA,
    "867": Subject.NORTH_OSSETIA,
    "869": Subject.SEVASTOPOL,
    "871": Subject.CHECHNYA,
    "872": Subject.DAGESTAN,
    "873": Subject.INGUSHETIA,
    "877": Subject.ADYGEA,
    "878": Subject.KARACHAY_CHERKESSIA,
    "879": Subject.STAVROPOL,
}

# Codes inside a multi-zone subject that pin one zone: Yakutsk city is MSK+6.
ABC_ZONES: dict[str, tuple[str, ...]] = {
    "4112": ("Asia/Yakutsk",),
}


def abc_subject(national: str) -> Subject | None:
    """Subject of a Russian national number (10 digits after +7), by its ABC code."""
    return ABC_SUBJECTS.get(national[:3])


def abc_zones(national: str) -> tuple[str, ...] | None:
    """Zones of a Russian geographic number from its ABC code; None when the code is not geographic."""
    for length in (4, 3):
        zones = ABC_ZONES.get(national[:length])
        if zones is not None:
            return zones
    subject = abc_subject(national)
    if subject is None:
        return None
    return subject_zones(subject)
