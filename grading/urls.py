"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from grading import api, views

urlpatterns = [
    path("grading/", views.queue, name="grading-queue"),
    path("grading/submissions/<int:pk>/", views.submission, name="grading-submission"),
    path("grading/activities/<int:pk>/", views.mine, name="grading-mine"),
    path("grading/activities/<int:pk>/rubric/", views.rubric, name="grading-rubric"),
    path("grading/activities/<int:pk>/resubmit/", views.resubmit, name="grading-resubmit"),
    path("grading/courses/<int:pk>/", views.gradebook, name="grading-gradebook"),
    path("grading/courses/<int:pk>/gradebook.csv", views.gradebook_csv, name="grading-csv"),
]

api_urlpatterns = [
    path("grading/queue/", api.QueueView.as_view(), name="api-grading-queue"),
    path(
        "grading/activities/<int:pk>/rubric/", api.RubricView.as_view(), name="api-grading-rubric"
    ),
    path(
        "grading/activities/<int:pk>/submissions/",
        api.MySubmissionsView.as_view(),
        name="api-grading-mine",
    ),
    path(
        "grading/activities/<int:pk>/resubmit/",
        api.ResubmitView.as_view(),
        name="api-grading-resubmit",
    ),
    path(
        "grading/submissions/<int:pk>/",
        api.SubmissionDetailView.as_view(),
        name="api-grading-submission",
    ),
    path("grading/submissions/<int:pk>/grade/", api.GradeView.as_view(), name="api-grading-grade"),
    path(
        "grading/courses/<int:pk>/gradebook/",
        api.GradebookView.as_view(),
        name="api-grading-gradebook",
    ),
]
