from django.urls import path

from . import api

app_name = "api"

urlpatterns = [
    path("runs/", api.ingest_runs, name="runs_ingest"),
]
