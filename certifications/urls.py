"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from certifications import api, views

urlpatterns = [
    path("verify/<str:number>/", views.verify, name="certifications-verify"),
    path("certifications/", views.mine, name="certifications-mine"),
    path("certifications/<int:pk>/", views.detail, name="certifications-detail"),
    path("certifications/new/", views.certification_new, name="certifications-new"),
    path("certifications/template/", views.template_edit, name="certifications-template"),
    path("certifications/bulk/<int:pk>/", views.bulk_job, name="certifications-bulk-job"),
    path("certifications/compliance/", views.compliance, name="certifications-compliance"),
    path(
        "certifications/compliance.csv",
        views.compliance_csv,
        name="certifications-compliance-csv",
    ),
]

api_urlpatterns = [
    path("verify/<str:number>/", views.verify, name="certifications-verify"),
    path(
        "certifications/mine/", api.MyCertificationsView.as_view(), name="api-certifications-mine"
    ),
    path("certifications/<int:pk>/bulk/", api.BulkView.as_view(), name="api-certifications-bulk"),
    path(
        "certifications/bulk/<int:pk>/",
        api.BulkJobView.as_view(),
        name="api-certifications-bulk-job",
    ),
    path(
        "certifications/assertions/<str:number>/",
        api.CertificationAssertionView.as_view(),
        name="api-certification-assertion",
    ),
    path(
        "certifications/<int:pk>/badge-class/",
        api.CertificationBadgeClassView.as_view(),
        name="api-certification-badge-class",
    ),
    path(
        "certifications/spaces/<int:pk>/issuer/",
        api.CertificationIssuerView.as_view(),
        name="api-certification-issuer",
    ),
]
