"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from sessions import api, views

urlpatterns = [
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/<int:pk>/", views.session_detail, name="session-detail"),
    path("sessions/<int:pk>/register/", views.session_register, name="session-register"),
    path("sessions/<int:pk>/cancel/", views.session_cancel_mine, name="session-cancel"),
    path(
        "sessions/<int:pk>/offer/<str:answer>/",
        views.session_offer,
        name="session-offer",
    ),
    path(
        "sessions/<int:pk>/respond/<str:answer>/",
        views.session_respond,
        name="session-respond",
    ),
    path("sessions/manage/", views.dashboard, name="sessions-dashboard"),
    path("sessions/manage/surveys/", views.surveys_page, name="sessions-surveys"),
    path("sessions/coaching/", views.coaching_page, name="sessions-coaching"),
    path(
        "sessions/coaching/<int:pk>/<str:action>/",
        views.coaching_action,
        name="sessions-coaching-action",
    ),
    path("sessions/availability/", views.availability_page, name="sessions-availability"),
    path("sessions/<int:pk>/reservations/", views.reservation_action, name="session-reservations"),
    path("sessions/manage/rooms/", views.rooms_page, name="sessions-rooms"),
    path("sessions/manage/conflicts/", views.conflicts_page, name="sessions-conflicts"),
    path("sessions/<int:pk>/book/", views.session_book, name="session-book"),
    path("sessions/<int:pk>/checkin/", views.session_checkin, name="session-checkin"),
    path("sessions/<int:pk>/feedback/", views.session_feedback, name="session-feedback"),
    path(
        "sessions/<int:pk>/feedback/results/",
        views.feedback_results,
        name="session-feedback-results",
    ),
    path("sessions/<int:pk>/feedback.csv", views.feedback_csv, name="session-feedback-csv"),
    path(
        "sessions/feedback/trainer/<int:user_id>/",
        views.trainer_feedback,
        name="session-trainer-feedback",
    ),
    path("sessions/<int:pk>/checkin/show/", views.checkin_show, name="session-checkin-show"),
    path("sessions/<int:pk>/checkin/qr.svg", views.checkin_qr, name="session-checkin-qr"),
    path("sessions/new/", views.session_new, name="session-new"),
    path("sessions/<int:pk>/edit/", views.session_edit, name="session-edit"),
    path(
        "sessions/<int:pk>/cancel-session/",
        views.session_cancel_session,
        name="session-cancel-session",
    ),
    path(
        "sessions/<int:pk>/registrations/",
        views.session_registrations,
        name="session-registrations",
    ),
    path(
        "sessions/<int:pk>/registrations/<str:action>/",
        views.registration_action,
        name="session-registration-action",
    ),
    path("sessions/<int:pk>/parts/", views.part_add, name="session-part-add"),
    path(
        "sessions/<int:pk>/parts/<int:part_id>/remove/",
        views.part_remove,
        name="session-part-remove",
    ),
    path("sessions/<int:pk>/attendance/", views.attendance_sheet, name="session-attendance"),
    path(
        "sessions/<int:pk>/attendance.csv",
        views.attendance_csv,
        name="session-attendance-csv",
    ),
]
api_urlpatterns = [
    path(
        "sessions/<int:pk>/reservations/",
        api.ReservationListView.as_view(),
        name="api-session-reservations",
    ),
    path(
        "sessions/reservations/<int:rid>/name/",
        api.ReservationNameView.as_view(),
        name="api-session-reservation-name",
    ),
    path(
        "sessions/reservations/<int:rid>/release/",
        api.ReservationReleaseView.as_view(),
        name="api-session-reservation-release",
    ),
    path(
        "sessions/coaching/slots/",
        api.CoachingSlotListView.as_view(),
        name="api-session-coaching-slots",
    ),
    path(
        "sessions/<int:pk>/coaching/book/",
        api.CoachingBookView.as_view(),
        name="api-session-coaching-book",
    ),
    path(
        "sessions/<int:pk>/coaching/cancel/",
        api.CoachingCancelView.as_view(),
        name="api-session-coaching-cancel",
    ),
    path("sessions/availability/", api.AvailabilityView.as_view(), name="api-session-availability"),
    path("sessions/rooms/", api.RoomListView.as_view(), name="api-session-rooms"),
    path("sessions/assets/", api.AssetListView.as_view(), name="api-session-assets"),
    path("sessions/time-off/", api.TimeOffView.as_view(), name="api-session-time-off"),
    path("sessions/conflicts/", api.ConflictListView.as_view(), name="api-session-conflicts"),
    path("sessions/<int:pk>/book/", api.BookView.as_view(), name="api-session-book"),
    path(
        "sessions/survey-templates/",
        api.SurveyTemplateListView.as_view(),
        name="api-session-survey-templates",
    ),
    path("sessions/<int:pk>/survey/", api.SessionSurveyView.as_view(), name="api-session-survey"),
    path("sessions/<int:pk>/feedback/", api.FeedbackView.as_view(), name="api-session-feedback"),
    path(
        "sessions/<int:pk>/feedback/results/",
        api.FeedbackResultsView.as_view(),
        name="api-session-feedback-results",
    ),
    path(
        "sessions/feedback/trainer/<int:user_id>/",
        api.TrainerFeedbackView.as_view(),
        name="api-session-trainer-feedback",
    ),
    path("sessions/<int:pk>/checkin/", api.CheckInView.as_view(), name="api-session-checkin"),
    path(
        "sessions/<int:pk>/checkin/codes/",
        api.CheckInCodesView.as_view(),
        name="api-session-checkin-codes",
    ),
    path("sessions/", api.SessionListView.as_view(), name="api-session-list"),
    path("sessions/<int:pk>/", api.SessionDetailView.as_view(), name="api-session-detail"),
    path(
        "sessions/<int:pk>/cancel-session/",
        api.SessionCancelSessionView.as_view(),
        name="api-session-cancel-session",
    ),
    path("sessions/<int:pk>/register/", api.RegisterView.as_view(), name="api-session-register"),
    path("sessions/<int:pk>/cancel/", api.CancelView.as_view(), name="api-session-cancel"),
    path("sessions/<int:pk>/respond/", api.RespondView.as_view(), name="api-session-respond"),
    path(
        "sessions/<int:pk>/registrations/",
        api.RegistrationListView.as_view(),
        name="api-session-registrations",
    ),
    path(
        "sessions/<int:pk>/waitlist/reorder/",
        api.WaitlistReorderView.as_view(),
        name="api-session-waitlist-reorder",
    ),
    path(
        "sessions/<int:pk>/offer/accept/",
        api.OfferAnswerView.as_view(accept=True),
        name="api-session-offer-accept",
    ),
    path(
        "sessions/<int:pk>/offer/decline/",
        api.OfferAnswerView.as_view(accept=False),
        name="api-session-offer-decline",
    ),
    path(
        "sessions/<int:pk>/registrations/<int:rid>/approve/",
        api.RegistrationApproveView.as_view(),
        name="api-session-registration-approve",
    ),
    path(
        "sessions/<int:pk>/registrations/<int:rid>/remove/",
        api.RegistrationRemoveView.as_view(),
        name="api-session-registration-remove",
    ),
    path(
        "sessions/<int:pk>/registrations/<int:rid>/move/",
        api.RegistrationMoveView.as_view(),
        name="api-session-registration-move",
    ),
    path(
        "sessions/<int:pk>/registrations/<int:rid>/shift/",
        api.WaitlistShiftView.as_view(),
        name="api-session-registration-shift",
    ),
    path("sessions/<int:pk>/parts/", api.PartListView.as_view(), name="api-session-parts"),
    path(
        "sessions/<int:pk>/parts/<int:part_id>/",
        api.PartDetailView.as_view(),
        name="api-session-part",
    ),
    path("sessions/series/", api.SeriesCreateView.as_view(), name="api-session-series"),
    path(
        "sessions/<int:pk>/series/update/",
        api.SeriesUpdateView.as_view(),
        name="api-session-series-update",
    ),
    path(
        "sessions/<int:pk>/series/cancel/",
        api.SeriesCancelView.as_view(),
        name="api-session-series-cancel",
    ),
    path(
        "sessions/<int:pk>/attendance/",
        api.AttendanceView.as_view(),
        name="api-session-attendance",
    ),
    path(
        "sessions/<int:pk>/attendance.csv",
        api.AttendanceCsvView.as_view(),
        name="api-session-attendance-csv",
    ),
]
