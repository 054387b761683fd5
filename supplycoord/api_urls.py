# The API's URLs: /api/v1/... and the OpenAPI schema with its offline docs page.
from django.urls import path

urlpatterns: list = [
    path("v1/", lambda request: None),  # replaced by the API helper
]
