"""Accounts (included at accounts/ with namespace `accounts`): the office issues set-password links
for the roster's users, one at a time or a team's as an Excel file; the caller opens theirs and
chooses a password (Django's PasswordResetConfirmView, the password validators of settings).

See callbacks/accounts.py for the rules (whose accounts, how long a link lives, the audit)."""

from __future__ import annotations

import io

from django.contrib.auth import views as auth_views
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from admissions.models import Season
from admissions.selectors import season_current
from callback_office.export_log import export_log_record
from callback_office.roles import Role, require_role
from callbacks import accounts
from callbacks.models import TEAM_ORDER, Caller, Team

app_name = "accounts"


def _season(request: HttpRequest) -> Season:
    year = request.GET.get("season") or request.POST.get("season")
    if year:
        if not str(year).isdigit():
            raise Http404
        return get_object_or_404(Season, year=int(year))
    season = season_current()
    if season is None:
        raise Http404(_("尚未建立招生年度。"))
    return season


@require_role(Role.OFFICE)
def password_links(request: HttpRequest) -> HttpResponse:
    """The season's callers, by team, with whether each has chosen a password yet."""
    season = _season(request)
    teams = list(Team.objects.filter(season=season).order_by(*TEAM_ORDER))
    callers = list(accounts.callers_for_links(season=season))
    by_team: dict[int | None, list[Caller]] = {}
    for caller in callers:
        by_team.setdefault(caller.team_id, []).append(caller)
    groups = [(t, by_team.get(t.pk, [])) for t in teams]
    if by_team.get(None):
        groups.append((None, by_team[None]))
    unset = sum(1 for c in callers if not c.user.has_usable_password())
    return render(
        request,
        "callbacks/accounts/password_links.html",
        {
            "season": season,
            "groups": groups,
            "total": len(callers),
            "unset": unset,
            "lifetime_days": accounts.link_lifetime().days,
        },
    )


@require_role(Role.OFFICE)
@require_POST
def password_link(request: HttpRequest, user_id: int) -> HttpResponse:
    """Issue one user's link and show it once (the office copies it into a message to them)."""
    user = get_object_or_404(accounts.linkable_users(), pk=user_id)
    caller = (
        Caller.objects.filter(user=user).select_related("team", "season").order_by("-season__year").first()
    )
    (link,) = accounts.password_links_issue(
        users=[user], issued_by=request.user, absolute=request.build_absolute_uri
    )
    return render(
        request,
        "callbacks/accounts/password_link.html",
        {"link": link, "caller": caller, "has_password": user.has_usable_password()},
    )


@require_role(Role.OFFICE)
@require_POST
def password_links_export(request: HttpRequest, team_id: int | None = None) -> HttpResponse:
    """A team's links (or the whole season's) as an Excel file; `only_unset` keeps those who have
    not chosen a password yet."""
    season = _season(request)
    team = get_object_or_404(Team, season=season, pk=team_id) if team_id is not None else None
    only_unset = request.POST.get("only_unset") == "1"
    callers = list(accounts.callers_for_links(season=season, team=team, only_unset=only_unset))
    links = accounts.password_links_issue(
        users=[c.user for c in callers], issued_by=request.user, absolute=request.build_absolute_uri
    )
    body = accounts.password_links_workbook(callers=callers, links=links)
    export_log_record(
        user=request.user,
        season=season,
        what=_("设置密码链接"),
        row_count=len(callers),
        filters={"team": team.name if team else "", "only_unset": only_unset},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = f"{_('设置密码链接')}-{team.name if team else season.year}-{stamp}.xlsx"
    return FileResponse(
        io.BytesIO(body),
        as_attachment=True,
        filename=name,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """The page a link opens: choose a password (validated by AUTH_PASSWORD_VALIDATORS). The link
    works once: setting the password changes the hash its token is made from."""

    template_name = "registration/password_set_confirm.html"
    success_url = reverse_lazy("accounts:password_set_done")
    title = gettext_lazy("设置密码")

    def form_valid(self, form):
        response = super().form_valid(form)
        accounts.password_set_audit(user=form.user)
        return response


class PasswordSetDoneView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_set_complete.html"
    title = gettext_lazy("密码已设置")


urlpatterns = [
    path("passwords/", password_links, name="password_links"),
    path("passwords/<int:user_id>/link/", password_link, name="password_link"),
    path("passwords/links.xlsx", password_links_export, name="password_links_all"),
    path("passwords/team/<int:team_id>/links.xlsx", password_links_export, name="password_links_team"),
    path("set-password/<uidb64>/<token>/", PasswordSetView.as_view(), name="password_set"),
    path("set-password/done/", PasswordSetDoneView.as_view(), name="password_set_done"),
]
