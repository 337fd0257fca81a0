"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from skills import api, views

urlpatterns = [
    path("skills/", views.mine, name="skills-mine"),
    path("skills/people/<int:pk>/", views.person, name="skills-person"),
    path("skills/people/<int:pk>/assess/<int:skill_pk>/", views.assess, name="skills-assess"),
    path("skills/matrix/", views.matrix, name="skills-matrix"),
    path("skills/matrix.csv", views.matrix_csv, name="skills-matrix-csv"),
    path("skills/teams/<int:pk>/targets/", views.team_targets, name="skills-team-targets"),
    path("skills/framework/", views.framework, name="skills-framework"),
    path("skills/framework.csv", views.framework_csv, name="skills-framework-csv"),
    path("skills/framework/skills/<int:pk>/", views.skill_detail, name="skills-skill"),
]

api_urlpatterns = [
    path("skills/framework/", api.FrameworkView.as_view(), name="api-skills-framework"),
    path("skills/framework/levels/", api.LevelsView.as_view(), name="api-skills-levels"),
    path("skills/framework/import/", api.ImportView.as_view(), name="api-skills-import"),
    path("skills/<int:pk>/links/", api.LinksView.as_view(), name="api-skills-links"),
    path("skills/links/<int:pk>/", api.LinkView.as_view(), name="api-skills-link"),
    path(
        "skills/<int:pk>/assessments/", api.AssessmentsView.as_view(), name="api-skills-assessments"
    ),
    path("skills/<int:pk>/target/", api.TargetView.as_view(), name="api-skills-target"),
    path("skills/matrix/", api.MatrixView.as_view(), name="api-skills-matrix"),
    path("skills/people/<int:pk>/", api.PersonView.as_view(), name="api-skills-person"),
]
