from django.urls import path

from callbacks import pii_views, views

app_name = "callbacks"
urlpatterns: list = [
    path("mine/", views.my_candidates, name="my_candidates"),
    path("pool/", views.pool, name="pool"),
    path("pool/claim/", views.pool_claim, name="pool_claim"),
    path("pool/reports/", views.report_create, name="report_create"),
    path("candidates/<int:pk>/", views.candidate_detail, name="candidate_detail"),
    path("candidates/<int:pk>/contacts/", views.contact_create, name="contact_create"),
    path("candidates/<int:pk>/followup/", views.followup_set, name="followup_set"),
    path("candidates/<int:pk>/reveal-id/", pii_views.reveal_id_number, name="reveal_id_number"),
    path("team/", views.team, name="team"),
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/<int:caller_id>/", views.ledger, name="ledger_caller"),
    path("distribute/", views.distribute, name="distribute"),
]
