"""List filters of the caller workspace (django-filter)."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from admissions.choices import CallbackStatus, Level
from admissions.models import Candidate, ProvincePolicy, Season
from callbacks.selectors import WorkPhase, phase_q

ALL = _("全部")
YES_NO = [("yes", _("是")), ("no", _("否"))]


class CandidateFilter(django_filters.FilterSet):
    """Filters of "my candidates" (and the team list): status, level, province, phase, paid,
    enrolled, and a search by name, exam number or high school."""

    q = django_filters.CharFilter(label=_("搜索"), method="filter_search")
    status = django_filters.ChoiceFilter(label=_("回访状态"), choices=CallbackStatus.choices, empty_label=ALL)
    level = django_filters.ChoiceFilter(label=_("层次"), choices=Level.choices, empty_label=ALL)
    province = django_filters.ModelChoiceFilter(
        label=_("省份"), queryset=ProvincePolicy.objects.none(), empty_label=ALL
    )
    phase = django_filters.ChoiceFilter(
        label=_("阶段"), choices=WorkPhase.choices, method="filter_phase", empty_label=ALL
    )
    paid = django_filters.ChoiceFilter(
        label=_("已缴费"), choices=YES_NO, method="filter_paid", empty_label=ALL
    )
    enrolled = django_filters.ChoiceFilter(
        label=_("已报到"), choices=YES_NO, method="filter_enrolled", empty_label=ALL
    )

    class Meta:
        model = Candidate
        fields = ["q", "status", "level", "province", "phase", "paid", "enrolled"]

    def __init__(self, *args, season: Season, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["province"].queryset = ProvincePolicy.objects.filter(season=season)

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(exam_number__startswith=value) | Q(high_school__icontains=value)
        )

    def filter_phase(self, queryset, name, value):
        return queryset.filter(phase_q(int(value))) if value else queryset

    def filter_paid(self, queryset, name, value):
        return queryset.filter(paid_on__isnull=value != "yes") if value else queryset

    def filter_enrolled(self, queryset, name, value):
        return queryset.filter(enrolled_on__isnull=value != "yes") if value else queryset
