"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from classrooms import api, offline_api, views

api_urlpatterns = [
    path("courses/", api.CourseListView.as_view(), name="api-course-list"),
    path("courses/<int:pk>/", api.CourseDetailView.as_view(), name="api-course-detail"),
    path("courses/<int:pk>/modules/", api.ModuleCreateView.as_view(), name="api-module-create"),
    path(
        "courses/<int:pk>/modules/reorder/",
        api.ModuleReorderView.as_view(),
        name="api-module-reorder",
    ),
    path(
        "courses/<int:pk>/enrolments/",
        api.EnrolmentListView.as_view(),
        name="api-course-enrolments",
    ),
    path("courses/<int:pk>/progress/", api.ProgressView.as_view(), name="api-course-progress"),
    path("courses/<int:pk>/questions/", api.QuestionListView.as_view(), name="api-questions"),
    path("questions/<int:pk>/", api.QuestionDetailView.as_view(), name="api-question-detail"),
    path("modules/<int:pk>/", api.ModuleDetailView.as_view(), name="api-module-detail"),
    path(
        "modules/<int:pk>/activities/",
        api.ActivityCreateView.as_view(),
        name="api-activity-create",
    ),
    path(
        "modules/<int:pk>/activities/reorder/",
        api.ActivityReorderView.as_view(),
        name="api-activity-reorder",
    ),
    path("activities/<int:pk>/", api.ActivityDetailView.as_view(), name="api-activity-detail"),
    path(
        "activities/<int:pk>/complete/",
        api.ActivityCompleteView.as_view(),
        name="api-activity-complete",
    ),
    path("activities/<int:pk>/attempts/", api.AttemptListView.as_view(), name="api-attempt-list"),
    path(
        "activities/<int:pk>/submission/",
        api.SubmissionView.as_view(),
        name="api-submission",
    ),
    path("attempts/<int:pk>/", api.AttemptDetailView.as_view(), name="api-attempt-detail"),
    path("attempts/<int:pk>/submit/", api.AttemptSubmitView.as_view(), name="api-attempt-submit"),
    path("enrolments/", api.MyEnrolmentsView.as_view(), name="api-my-enrolments"),
    path("enrolments/<int:pk>/", api.EnrolmentDetailView.as_view(), name="api-enrolment-detail"),
    path("enrolments/<int:pk>/due/", api.EnrolmentDueView.as_view(), name="api-enrolment-due"),
    path("courses/<int:pk>/due/", api.CourseDueView.as_view(), name="api-course-due"),
    path("activities/<int:pk>/due/", api.ActivityDueView.as_view(), name="api-activity-due"),
    # -- offline learning (issue 21) --
    path(
        "courses/<int:pk>/offline/",
        offline_api.CourseOfflinePackView.as_view(),
        name="api-course-offline",
    ),
    path(
        "activities/<int:pk>/offline-attempts/",
        offline_api.OfflineAttemptView.as_view(),
        name="api-offline-attempt",
    ),
    # -- end offline learning --
]

# Live classes.
_lc = "liveclasses/<int:pk>/"
api_urlpatterns += [
    path("liveclasses/", api.LiveClassListView.as_view(), name="api-liveclasses"),
    path(_lc, api.LiveClassDetailView.as_view(), name="api-liveclass"),
    path(_lc + "state/", api.LiveClassStateView.as_view(), name="api-liveclass-state"),
    path(_lc + "join/", api.LiveClassJoinView.as_view(), name="api-liveclass-join"),
    path(_lc + "leave/", api.LiveClassLeaveView.as_view(), name="api-liveclass-leave"),
    path(_lc + "start/", api.LiveClassStartView.as_view(), name="api-liveclass-start"),
    path(_lc + "end/", api.LiveClassEndView.as_view(), name="api-liveclass-end"),
    path(_lc + "hands/raise/", api.HandRaiseView.as_view(), name="api-liveclass-hand-raise"),
    path(_lc + "hands/lower/", api.HandLowerView.as_view(), name="api-liveclass-hand-lower"),
    path(_lc + "reactions/", api.ReactionView.as_view(), name="api-liveclass-react"),
    path(_lc + "control/", api.ControlView.as_view(), name="api-liveclass-control"),
    path(_lc + "recording/", api.RecordingView.as_view(), name="api-liveclass-recording"),
    path(_lc + "polls/", api.PollListView.as_view(), name="api-liveclass-polls"),
    path(
        _lc + "polls/<int:poll_pk>/vote/",
        api.PollVoteView.as_view(),
        name="api-liveclass-poll-vote",
    ),
    path(
        _lc + "polls/<int:poll_pk>/close/",
        api.PollCloseView.as_view(),
        name="api-liveclass-poll-close",
    ),
    path(_lc + "whiteboard/", api.WhiteboardView.as_view(), name="api-liveclass-whiteboard"),
    path(_lc + "whiteboard/undo/", api.StrokeUndoView.as_view(), name="api-liveclass-stroke-undo"),
    path(_lc + "breakouts/", api.BreakoutOpenView.as_view(), name="api-liveclass-breakouts"),
    path(
        _lc + "breakouts/broadcast/",
        api.BreakoutBroadcastView.as_view(),
        name="api-liveclass-breakout-broadcast",
    ),
    path(
        _lc + "breakouts/close/",
        api.BreakoutCloseView.as_view(),
        name="api-liveclass-breakout-close",
    ),
    path(
        _lc + "attendance/", api.LiveClassAttendanceView.as_view(), name="api-liveclass-attendance"
    ),
]

urlpatterns = [
    path("courses/", views.course_list, name="courses"),
    path("courses/new/", views.course_new, name="course-new"),
    path("courses/preview/", views.markdown_preview, name="markdown-preview"),
    path("courses/<int:pk>/", views.course_detail, name="course-detail"),
    path("courses/<int:pk>/enrol/", views.course_enrol, name="course-enrol"),
    path("courses/<int:pk>/enrol-someone/", views.course_enrol_other, name="course-enrol-other"),
    path("courses/<int:pk>/edit/", views.course_edit, name="course-edit"),
    path("courses/<int:pk>/edit/due/", views.course_due, name="course-due"),
    path("courses/<int:pk>/edit/module/", views.module_add, name="module-add"),
    path("courses/<int:pk>/edit/activity/", views.activity_add, name="activity-add"),
    path("courses/<int:pk>/edit/move/", views.outline_move, name="outline-move"),
    path("courses/<int:pk>/edit/delete/", views.outline_delete, name="outline-delete"),
    path("courses/<int:pk>/questions/", views.question_bank, name="question-bank"),
    path("courses/<int:pk>/progress/", views.course_progress, name="course-progress"),
    path("courses/<int:pk>/report/", views.course_report, name="course-report"),
    path("courses/<int:pk>/export.csv", views.course_export, name="course-export"),
    path("activities/<int:pk>/", views.activity_detail, name="activity-detail"),
    path("activities/<int:pk>/edit/", views.activity_edit, name="activity-edit"),
    path("activities/<int:pk>/edit/due/", views.activity_due, name="activity-due"),
    path("enrolments/<int:pk>/due/", views.enrolment_due, name="enrolment-due"),
    path("activities/<int:pk>/attempt/", views.attempt_new, name="attempt-new"),
    path("activities/<int:pk>/submit/", views.submission_post, name="submission-post"),
    path("attempts/<int:pk>/", views.attempt_page, name="attempt"),
    path("team/progress/", views.team_progress, name="team-progress"),
    path("team/progress/export.csv", views.team_export, name="team-export"),
    # Live classes: the room's URL is stable (sessions and calendars link to it).
    path("liveclass/<int:pk>/", views.liveclass_room, name="liveclass"),
    path("liveclass/<int:pk>/attendance/", views.liveclass_attendance, name="liveclass-attendance"),
    path("liveclass/<int:pk>/recording/", views.liveclass_recording, name="liveclass-recording"),
    path(
        "liveclass/<int:pk>/attendance.csv",
        views.liveclass_attendance_csv,
        name="liveclass-attendance-csv",
    ),
    path("courses/<int:pk>/liveclass/new/", views.liveclass_new, name="liveclass-new"),
    path("activities/<int:pk>/liveclass/", views.activity_liveclass, name="activity-liveclass"),
]
