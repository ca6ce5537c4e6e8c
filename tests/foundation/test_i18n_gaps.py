"""Strings that used to stay Chinese in the English UI: the subsidy scheme form (labels and the
engine's validation messages), import warnings and counts, the admin's header."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from callback_office.importing import import_file
from subsidies.engine import Scheme, SchemeError
from subsidies.engine.scheme import PARAM_LABELS, Text
from subsidies.forms import SchemeForm, engine_text
from tests.factories import UserFactory
from tests.imports.conftest import kind_xlsx, roster_row

BAD_TIERS = {"tiers": {"undergraduate": [["0.96", "25"], ["0.99", "55"]], "junior": [["0.92", "45"]]}}


def scheme_error(change: dict) -> SchemeError:
    with pytest.raises(SchemeError) as exc:
        Scheme.from_dict(Scheme().to_dict() | change)
    return exc.value


def test_engine_messages_stay_chinese_text_in_the_engine():
    err = scheme_error(BAD_TIERS)
    (message,) = err.errors["tiers"]
    assert message == "本科：档位阈值必须从高到低严格递减"
    assert isinstance(message, Text) and message.template == "%(level)s：档位阈值必须从高到低严格递减"
    assert "本科：档位阈值必须从高到低严格递减" in str(err)


@pytest.mark.parametrize(
    ("change", "key", "english"),
    [
        (BAD_TIERS, "tiers", "Undergraduate: tier thresholds must strictly decrease from top to bottom"),
        ({"increment_yuan": "abc"}, "increment_yuan", "“abc” is not a valid number"),
        ({"misconduct_min": "0.9", "misconduct_max": "0.5"}, "misconduct_min", "the misconduct minimum"),
        ({"nonsense": 1}, "nonsense", "unknown parameter"),
    ],
)
def test_engine_messages_in_english(change, key, english):
    (message,) = scheme_error(change).errors[key]
    with translation.override("en"):
        assert english in engine_text(message)
    with translation.override("zh-hans"):
        assert engine_text(message) == message


def test_scheme_form_in_english():
    with translation.override("en"):
        form = SchemeForm(scheme=Scheme())
        assert form.fields["increment_step"].label == "Increment step (enrollment rate)"
        assert form.fields["tiers__undergraduate"].label.startswith("Undergraduate phone subsidy tiers")
        assert form.fields["standards__junior__fixed_basic"].label == (
            "Junior college, basic standard, non-withdrawable provinces"
        )
        assert form.fields["points_best_team__0"].label == "Best team points (first, second, third) (1)"
        data = {name: field.initial for name, field in form.fields.items()}
        data["note"] = "x"
        data["tiers__undergraduate"] = "0.96 25\n0.99 55"
        data["tiers__junior"] = "0.92 45\nabc"
        bad = SchemeForm(data=data, scheme=Scheme())
        assert not bad.is_valid()
        assert bad.errors["tiers__junior"] == [
            "Line 2: two numbers are needed, “rate threshold, yuan per student”"
        ]
    with translation.override("zh-hans"):
        assert SchemeForm(scheme=Scheme()).fields["increment_step"].label == PARAM_LABELS["increment_step"]


@pytest.mark.django_db
def test_scheme_form_engine_errors_in_english():
    with translation.override("en"):
        form = SchemeForm(scheme=Scheme())
        data = {name: field.initial for name, field in form.fields.items()}
        data |= {"note": "x", "tiers__undergraduate": "0.96 25\n0.99 55"}
        bad = SchemeForm(data=data, scheme=Scheme())
        assert not bad.is_valid()
        assert bad.non_field_errors() == [
            "Phone subsidy tiers: Undergraduate: tier thresholds must strictly decrease from top to bottom"
        ]


@pytest.mark.django_db
def test_import_warnings_and_counts_follow_the_language():
    rows = [roster_row(f"A{i}", f"成员{i}", "第一组") for i in range(3)]
    with translation.override("en"):
        result = import_file("roster", kind_xlsx("roster", rows), season_year=2023, dry_run=True)
    assert result.warnings == ["Team “第一组” has 3 people on the roster; usually 8–13"]
    assert result.details == {"New accounts": 3, "New teams": 1}
    with translation.override("zh-hans"):
        result = import_file("roster", kind_xlsx("roster", rows), season_year=2023, dry_run=True)
    assert result.warnings == ["小组“第一组”名单中有 3 人，通常为 8–13 人"]
    assert result.details == {"新建账号": 3, "新建小组": 1}


@pytest.mark.django_db
def test_admin_header_translated(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert "回访办 · 管理后台" in client.get(reverse("admin:index")).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("admin:index")).content.decode()
    assert "Callback Office · Administration" in html and "回访办" not in html
