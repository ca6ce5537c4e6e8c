from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("报表")

    def ready(self) -> None:
        from callback_office.nav import NAV_ITEMS, NavItem
        from callback_office.roles import Role

        NAV_ITEMS.extend(
            [
                NavItem(_("对账"), "reports:reconciliation", frozenset({Role.OFFICE})),
                NavItem(_("周报"), "reports:weekly_list", frozenset({Role.LEADER, Role.OFFICE})),
                NavItem(_("差异"), "reports:discrepancies", frozenset({Role.CALLER, Role.LEADER})),
                NavItem(_("本组看板"), "reports:team_dashboard", frozenset({Role.LEADER})),
                NavItem(_("全校看板"), "reports:office_dashboard", frozenset({Role.OFFICE})),
                NavItem(_("督查看板"), "reports:supervisor_dashboard", frozenset({Role.SUPERVISOR})),
                NavItem(_("省份报表"), "reports:province_report", frozenset({Role.OFFICE})),
            ]
        )
