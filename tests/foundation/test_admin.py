"""The admin lists every model of the project with search and filters, and each list renders."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from tests.factories import UserFactory

PROJECT_APPS = {"admissions", "callbacks", "supervision", "subsidies", "reports"}


def project_models():
    return [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]


@pytest.mark.parametrize("model", project_models(), ids=lambda m: m._meta.label)
def test_every_model_is_in_the_admin_with_search_and_filters(model):
    model_admin = admin.site._registry.get(model)
    assert model_admin is not None, f"{model._meta.label} is not registered in the admin"
    assert model_admin.search_fields, f"{model._meta.label} admin has no search_fields"
    assert model_admin.list_filter, f"{model._meta.label} admin has no list_filter"


@pytest.mark.django_db
@pytest.mark.sqlite
def test_every_changelist_renders_with_a_search(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    for model in project_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = client.get(url, {"q": "1"})
        assert response.status_code == 200, model._meta.label
