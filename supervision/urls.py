from django.urls import path

from supervision import views

app_name = "supervision"
urlpatterns = [
    path("", views.home, name="home"),
    path("qualification/", views.qualification_list, name="qualification"),
    path("qualification/<int:caller_id>/", views.qualification_review, name="qualification_review"),
    path("coverage/", views.coverage, name="coverage"),
    path("samples/", views.sample_list, name="samples"),
    path("samples/new/", views.sample_new, name="sample_new"),
    path("samples/<int:sample_id>/", views.sample_detail, name="sample"),
    path("items/<int:item_id>/", views.item_detail, name="item"),
    path("items/<int:item_id>/score/", views.item_score, name="item_score"),
    path("items/<int:item_id>/finding/", views.item_finding, name="item_finding"),
    path("items/<int:item_id>/calibration/", views.item_calibration, name="item_calibration"),
    path("contacts/<int:contact_id>/attachments/", views.contact_attachments, name="contact_attachments"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("findings/", views.finding_list, name="findings"),
    path("findings/arbitration/", views.arbitration_list, name="arbitration"),
    path("findings/<int:finding_id>/", views.finding_detail, name="finding"),
    path("findings/<int:finding_id>/verify/", views.finding_verify, name="finding_verify"),
    path("findings/<int:finding_id>/arbitrate/", views.finding_arbitrate, name="finding_arbitrate"),
    path("my-findings/", views.my_findings, name="my_findings"),
    path("my-findings/<int:finding_id>/<str:action>/", views.my_finding_action, name="my_finding_action"),
    path("scorecard/", views.scorecard_edit, name="scorecard"),
    path("calibration/", views.calibration, name="calibration"),
    path("incidents/", views.incident_list, name="incidents"),
    path("noshow/", views.noshow_list, name="noshow"),
    path("noshow/<int:case_id>/", views.noshow_decide, name="noshow_decide"),
    path("ledger-checks/", views.ledger_checks, name="ledger_checks"),
    path("ledger/", views.audit_ledger, name="ledger"),
]
