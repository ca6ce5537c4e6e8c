from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy

from callback_office import audit_views, jobs, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("callbacks.account_views")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admissions/", include("admissions.urls")),
    path("callbacks/casework/", include("callbacks.casework_urls", namespace="casework")),
    path("callbacks/", include("callbacks.urls")),
    path("supervision/", include("supervision.urls")),
    path("subsidies/", include("subsidies.urls")),
    path("reports/", include("reports.urls")),
    path("jobs/<str:job_id>/", jobs.job_page, name="job_page"),
    path("jobs/<str:job_id>/download/", jobs.job_download, name="job_download"),
    path("imports/", include("callback_office.import_views")),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("audit/pii/", audit_views.pii_log, name="pii_log"),
    path("help/", include("callback_office.help_views")),
    path("admin/rq/", include(jobs.rq_dashboard_urls())),
    path("admin/", admin.site.urls),
]
admin.site.site_header = gettext_lazy("回访办 · 管理后台")
admin.site.site_title = gettext_lazy("回访办")
admin.site.index_title = gettext_lazy("数据管理")
