from django.urls import path

from subsidies import views

app_name = "subsidies"
urlpatterns = [
    path("", views.runs, name="runs"),
    path("runs/new/", views.run_create, name="run_create"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/approve/", views.run_approve, name="run_approve"),
    path("runs/<int:pk>/diff/", views.run_diff, name="run_diff"),
    path("runs/<int:pk>/workbook.xlsx", views.run_download, name="run_download"),
    path("runs/<int:run_pk>/people/<int:caller_pk>/", views.statement, name="statement"),
    path("scheme/", views.scheme_edit, name="scheme_edit"),
    path("deductions/", views.deductions, name="deductions"),
    path("inquiries/", views.inquiries, name="inquiries"),
    path("inquiries/<int:pk>/answer/", views.inquiry_answer, name="inquiry_answer"),
    path("me/", views.my_statement, name="my_statement"),
    path("lines/<int:line_pk>/inquiry/", views.inquiry_create, name="inquiry_create"),
]
