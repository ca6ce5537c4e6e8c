from django.urls import path

from reports import dashboard_views, views

app_name = "reports"
urlpatterns = [
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("reconciliation/run/", views.reconciliation_run_now, name="reconciliation_run_now"),
    path("reconciliation/upload/", views.reconciliation_upload, name="reconciliation_upload"),
    path("reconciliation/runs/<int:pk>/", views.reconciliation_run, name="reconciliation_run"),
    path("discrepancies/", views.discrepancy_list, name="discrepancies"),
    path("discrepancies/export/", views.discrepancy_export, name="discrepancy_export"),
    path("discrepancies/<int:pk>/resolve/", views.discrepancy_resolve_view, name="discrepancy_resolve"),
    path("weekly/", views.weekly_list, name="weekly_list"),
    path("weekly/generate/", views.weekly_generate, name="weekly_generate"),
    path("weekly/<int:pk>/", views.weekly_detail, name="weekly_detail"),
    path("weekly/<int:pk>/xlsx/", views.weekly_download, name="weekly_download"),
    path("dashboards/team/", dashboard_views.team_dashboard, name="team_dashboard"),
    path("dashboards/office/", dashboard_views.office_dashboard, name="office_dashboard"),
    path("dashboards/supervision/", dashboard_views.supervisor_dashboard, name="supervisor_dashboard"),
    path("dashboards/candidates/", dashboard_views.drilldown, name="drilldown"),
    path("provinces/", dashboard_views.province_report, name="province_report"),
    path("exports/", dashboard_views.export_log, name="export_log"),
]
