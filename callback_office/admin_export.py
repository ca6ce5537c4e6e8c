"""The admin's export button (django-import-export) on the office's main lists.

Export only: lists come in through the office's validated import pages (数据导入: validate every
row, preview, commit once), never through the admin, so the admin has no import button.
- only the office (the office role or a superuser) sees the button and may export, not every
  staff user;
- xlsx only, every text cell escaped against formula injection like the other exports;
- the resources mask candidates' ID numbers and phones (the office's full export is 数据导入 →
  导出, in the import format);
- every export leaves an ExportLog row like the app's own exports (names are personal data too):
  who, which list, the changelist's filters, how many rows; it counts against the current season.
"""

from __future__ import annotations

from typing import Any

import tablib
from django.utils.translation import gettext as _
from import_export.admin import ExportMixin
from import_export.fields import Field
from import_export.formats.base_formats import XLSX

from admissions.selectors import season_current
from callback_office.excel import safe_text
from callback_office.export_log import export_log_record
from callback_office.roles import is_office


class OfficeExportMixin(ExportMixin):
    formats = [XLSX]
    export_formats = [XLSX]
    # resources list their own columns; no field picking needed for a quick export
    list_select_related_for_export: tuple[str, ...] = ()
    prefetch_for_export: tuple[str, ...] = ()

    def has_export_permission(self, request) -> bool:
        return is_office(request.user)

    def get_export_queryset(self, request):
        queryset = super().get_export_queryset(request)
        if self.list_select_related_for_export:
            queryset = queryset.select_related(*self.list_select_related_for_export)
        if self.prefetch_for_export:
            queryset = queryset.prefetch_related(*self.prefetch_for_export)
        return queryset

    def get_data_for_export(self, request, queryset, **kwargs: Any) -> tablib.Dataset:
        dataset = super().get_data_for_export(request, queryset, **kwargs)
        season = season_current()
        if season is not None:  # no season, no data to speak of: the log needs one
            export_log_record(
                user=request.user,
                season=season,
                what=_("后台导出：%(list)s") % {"list": self.model._meta.verbose_name_plural},
                row_count=len(dataset),
                filters=dict(request.GET.items()),
            )
        return tablib.Dataset(
            *[tuple(safe_text(v) for v in row) for row in dataset],
            headers=dataset.headers,
            title=dataset.title,
        )


def with_season(resource: type) -> type:
    """A resource in an import's format with a leading 年度 column (the admin lists every season,
    an import file belongs to one)."""

    class SeasonResource(resource):
        season = Field(attribute="season__year", column_name="年度")

        class Meta(resource.Meta):
            fields = ("season", *resource.Meta.fields)

    SeasonResource.__name__ = SeasonResource.__qualname__ = f"{resource.__name__}WithSeason"
    return SeasonResource
