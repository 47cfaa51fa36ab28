from django.urls import path

from . import views

app_name = "runs"

urlpatterns = [
    path("", views.run_checks, name="run_checks"),
    path("runs/review/", views.review_runs, name="review_runs"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    # Autotask tickets link to this page: keep the URL stable.
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
]
