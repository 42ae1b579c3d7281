"""Header mapping: aliases in Russian and English, several phone columns, subscriber and extra columns."""

from __future__ import annotations

import pytest

from dialer.lists.columns import header_key, is_phone_header, plan_columns


@pytest.mark.parametrize(
    "header",
    ["phone", "Phone", " PHONE ", "Телефон", "ТЕЛЕФОН", "номер", "Номер телефона", "number", "MSISDN",
     "phone2", "Phone 2", "phone_3", "Телефон 2", "телефон №2", "mobile", "Мобильный телефон", "tel"],
)  # fmt: skip
def test_phone_headers(header: str) -> None:
    assert is_phone_header(header)


@pytest.mark.parametrize("header", ["phone company", "номер договора", "telephone operator", "", "additional"])
def test_not_phone_headers(header: str) -> None:
    assert not is_phone_header(header)


def test_header_key_normalizes_case_yo_and_separators() -> None:
    assert header_key("  Часовой_пояс ") == "часовой пояс"
    assert header_key("ФИО клиента") == "фио клиента"
    assert header_key("Ёмкость") == "емкость"


def test_plan_assigns_roles_and_keeps_everything_else_as_extra() -> None:
    header = ["Телефон", "ФИО", "Additional", "Часовой пояс", "Регион", "Адрес", "Сумма", "", "Сумма", "phone2"]
    plan = plan_columns(header, 1, "additional")
    assert plan is not None
    assert plan.phones == (0, 9)
    assert (plan.name, plan.subscriber, plan.timezone, plan.region, plan.address) == ((1,), 2, 3, 4, 5)
    assert plan.extra == (("Additional", 2), ("Сумма", 6), ("column8", 7), ("Сумма (2)", 8))


def test_subscriber_column_is_configurable() -> None:
    plan = plan_columns(["phone", "debtor_id", "additional"], 1, "Debtor ID")
    assert plan is not None
    assert plan.subscriber == 1


def test_no_phone_column() -> None:
    assert plan_columns(["name", "sum"], 1, "additional") is None


@pytest.mark.parametrize(
    "header",
    ["Тел.", "Тел", "ТЕЛ", "Контактный телефон", "Рабочий телефон", "Домашний телефон", "Мобильный телефон",
     "Моб. телефон", "моб.телефон", "Телефон клиента", "Телефон 1", "Телефон 2", "Телефон (моб.)",
     "Телефон рабочий", "Тел. №2", "Номер телефона клиента", "Доп. номер", "Phone number", "Phone No.",
     "Phone #", "Mobile", "Cell", "Cell phone", "Mobile number", "Work phone", "Client phone", "Contact number",
     "Mobile_2", "Абонентский номер", "Номер абонента", "Абонентский номер 2", "Номер мобильного",
     "Номер сотового 2", "E164", "E.164",
     # Bitrix24's, Outlook's and Google Contacts' exports; other owners.
     "Другой телефон", "Телефон для рассылок", "Второй телефон", "Запасной телефон", "Business Phone 2",
     "Home Phone", "Primary Phone", "Other Phone", "Car Phone", "Phone 1 - Value", "Phone 2 - Value",
     "№ телефона", "Телефон контактного лица", "Телефон лида", "Телефон заказчика",
     # amoCRM's contact and lead exports.
     "Рабочий прямой телефон", "Мобильный телефон (контакт)", "Рабочий телефон (контакт)",
     "Домашний телефон (контакт)", "Другой телефон (контакт)",
     # Templates: a note on the format after the name; a number before the kind.
     "Номер телефона (в формате 79XXXXXXXXX)", "Телефон, формат +7XXXXXXXXXX", "Phone (format: +7...)",
     "Телефон (например, 89131234567)", "Телефон 1 (основной)", "Номер мобильного телефона",
     # Forms and the lists of other trades: what the phone is for, whose it is.
     "Телефон для связи", "Контактный телефон для связи", "Номер для связи", "Телефон (для СМС)",
     "Телефон для звонка", "Мобильник", "Телефон заявителя", "Телефон пациента", "Телефон плательщика",
     "Телефон собственника", "Телефон физ. лица",
     # The owner, then the kind; `номер` before an abbreviated kind.
     "Телефон клиента (основной)", "Телефон клиента (мобильный)", "Телефон должника мобильный",
     "Телефон клиента для связи", "Мобильный номер клиента", "Номер моб. телефона", "Номер сот. телефона",
     "Номер рабочего телефона"],
)  # fmt: skip
def test_more_phone_headers(header: str) -> None:
    assert is_phone_header(header)


@pytest.mark.parametrize(
    "header",
    # Someone else's phone, the carrier, an id: never dialled.
    ["Телефон оператора", "Телефон менеджера", "Мобильный оператор", "Сотовый оператор", "Оператор",
     "operator", "Mobile operator", "Номер клиента", "Номер договора", "client number", "Личный номер",
     "personal number", "№", "№ п/п", "No", "Phone 1 - Type", "Business Fax", "Pager", "E-mail 1 - Value",
     "Value", "Другой номер", "Рабочий телефон (компания)", "Контакт",
     "Формат телефона", "Телефон оператора (в формате 7...)", "Номер договора (формат 123)", "Телефон направления",
     "Телефон супруга", "Телефон поручителя", "Телефон работодателя", "Номер для СМС", "Телефон родителя",
     "Телефон оператора (мобильный)", "Телефон менеджера мобильный", "Номер договора клиента",
     "Личный номер клиента"],
)  # fmt: skip
def test_phone_words_in_other_headers(header: str) -> None:
    assert not is_phone_header(header)


@pytest.mark.parametrize("header", ["Ф.И.О.", "ФИО", "ф и о", "Клиент", "Full name", "Фамилия, имя, отчество",
                                    "Основной контакт", "Полное имя контакта", "Контакт"])
def test_name_headers(header: str) -> None:
    plan = plan_columns(["Телефон", header], 1, "additional")
    assert plan is not None and plan.name == (1,)


def test_phone_like_columns_are_all_numbers_of_the_row() -> None:
    header = ["Ф.И.О.", "Контактный телефон", "Телефон оператора", "Моб. телефон", "Рабочий тел.", "additional"]
    plan = plan_columns(header, 1, "additional")
    assert plan is not None
    assert (plan.phones, plan.name, plan.subscriber) == ((1, 3, 4), (0,), 5)
    assert plan.extra == (("Телефон оператора", 2), ("additional", 5))


@pytest.mark.parametrize(
    ("header", "name", "extra"),
    [
        (["Фамилия", "Имя", "Отчество", "Телефон"], (0, 1, 2), ("Фамилия", "Имя", "Отчество")),
        (["First name", "Last name", "Phone"], (0, 1), ("First name", "Last name")),
        (["Имя", "Телефон"], (0,), ("Имя",)),
        # A full name wins over its parts.
        (["ФИО", "Имя", "Телефон"], (0,), ("Имя",)),
    ],
)
def test_a_name_in_parts(header: list[str], name: tuple[int, ...], extra: tuple[str, ...]) -> None:
    plan = plan_columns(header, 1, "additional")
    assert plan is not None
    assert plan.name == name
    assert tuple(key for key, _ in plan.extra) == extra


@pytest.mark.parametrize(("header", "area_code"), [
    (["Телефон", "Код города"], 1),
    (["Area code", "Phone"], 0),
    (["Код оператора", "Номер"], 0),
    (["Код", "Телефон"], None),  # 1C's record code, not a phone's
    (["Телефон", "Код региона"], None),
])
def test_an_area_code_column(header: list[str], area_code: int | None) -> None:
    plan = plan_columns(header, 1, "additional")
    assert plan is not None
    assert plan.area_code == area_code
    assert [index for _, index in plan.extra] == [i for i in range(len(header)) if i not in plan.phones]
