"""URLs of casework (included at callbacks/casework/ with namespace `casework`)."""

from django.urls import path

from callbacks import casework_views as views

app_name = "casework"
urlpatterns = [
    # withdrawal requests (退档申请)
    path("candidate/<int:candidate_id>/withdrawal/", views.candidate_withdrawal, name="candidate_withdrawal"),
    path("candidate/<int:candidate_id>/withdrawal/open/", views.withdrawal_open, name="withdrawal_open"),
    path("withdrawals/", views.withdrawal_list, name="withdrawal_list"),
    path("withdrawals/export.xlsx", views.withdrawal_export, name="withdrawal_export"),
    path("withdrawals/<int:pk>/", views.withdrawal_detail, name="withdrawal_detail"),
    path("withdrawals/<int:pk>/materials/", views.material_upload, name="material_upload"),
    path("withdrawals/<int:pk>/check/", views.withdrawal_check, name="withdrawal_check"),
    path("withdrawals/<int:pk>/submit/", views.withdrawal_submit, name="withdrawal_submit"),
    path("withdrawals/<int:pk>/complete/", views.withdrawal_complete, name="withdrawal_complete"),
    path("withdrawals/<int:pk>/reject/", views.withdrawal_reject, name="withdrawal_reject"),
    path("withdrawals/<int:pk>/return/", views.withdrawal_return, name="withdrawal_return"),
    path("materials/<int:pk>/", views.material_file, name="material_file"),
    path("materials/<int:pk>/remove/", views.material_remove, name="material_remove"),
    # strike team (突击组)
    path("candidate/<int:candidate_id>/escalate/", views.candidate_escalate, name="candidate_escalate"),
    path(
        "candidate/<int:candidate_id>/after-registration/",
        views.candidate_after_registration,
        name="candidate_after_registration",
    ),
    path("strike/", views.strike_board, name="strike_board"),
    path("strike/<int:pk>/", views.strike_detail, name="strike_detail"),
    path("strike/<int:pk>/approve/", views.strike_approve, name="strike_approve"),
    path("strike/<int:pk>/decline/", views.strike_decline, name="strike_decline"),
    path("strike/<int:pk>/take/", views.strike_take, name="strike_take"),
    path("strike/<int:pk>/close/", views.strike_close, name="strike_close"),
    path("strike/<int:pk>/contacts/", views.strike_log_contact, name="strike_log_contact"),
]
