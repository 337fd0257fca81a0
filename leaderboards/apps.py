from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeaderboardsConfig(AppConfig):
    name = "leaderboards"
    verbose_name = _("Leaderboards")

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed

        from hub import events, files
        from hub.accounts.models import Team
        from hub.notify import register_kind
        from leaderboards import realtime, services  # noqa: F401

        # Badge images are public: an Open Badge's verifier fetches them without a login.
        files.register_public("leaderboards/badges")
        register_kind("leaderboards.badge", _("Badges I earn"), roles=["learner"])
        register_kind(
            "leaderboards.duel", _("Quiz duels: challenges and results"), roles=["learner"]
        )
        events.subscribe("classrooms.activity_completed", services.on_activity_completed)
        events.subscribe("classrooms.course_completed", services.on_course_completed)
        events.subscribe("forums.answer_accepted", services.on_answer_accepted)
        events.subscribe("sessions.attended", services.on_session_attended)
        m2m_changed.connect(
            services.on_team_members_changed,
            sender=Team.members.through,
            dispatch_uid="leaderboards.team_members",
        )
