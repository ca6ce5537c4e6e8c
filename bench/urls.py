"""The project's URLs plus the floors (bench only; never mounted in the product)."""

from django.urls import include, path

urlpatterns = [
    path("bench/", include("bench.floor_urls")),
    path("", include("callback_office.urls")),
]
