from django.urls import path

from . import views

app_name = "runs"

urlpatterns = [
    path("", views.run_checks, name="run_checks"),
    path("runs/customers/", views.customer_search, name="customer_search"),
    path("runs/review/", views.review_runs, name="review_runs"),
    path("runs/review-groups/", views.review_groups, name="review_groups"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/ticket-number/", views.run_ticket_number, name="run_ticket_number"),
    path("runs/<int:pk>/review/", views.run_review, name="run_review"),
    # Autotask tickets link to this page: keep the URL stable.
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
]
