"""Demo: the space's skills framework (safety and sales skills on the default four levels),
linked to the demo courses, with the Sales team's targets: Leo and Lina show gaps in
negotiation until they complete "Consultative selling"."""

from __future__ import annotations

from classrooms.models import Activity, Course
from hub.accounts.models import Space, Team, User
from skills import selectors, services

CSV = """group,skill,description
Safety,Fire safety,"Prevent, alert, evacuate"
Safety,First aid,Act in the first five minutes
Sales,Discovery questions,Open questions that find the customer's problem
Sales,Handling objections,Turn a no into a next step
"""


def seed(*, users: dict[str, User], space: Space) -> None:
    if selectors.framework_of(space=space) is not None:
        return
    coordinator = users["coordinator"]
    framework = services.framework_ensure(user=coordinator, space=space)
    services.import_apply(user=coordinator, framework=framework, data=CSV)
    skills = {s.name: s for s in framework.skills.all()}
    safety = Course.objects.filter(space=space, title="Workplace safety").first()
    sales = Course.objects.filter(space=space, title="Consultative selling").first()
    if safety is not None:
        services.link_add(user=coordinator, skill=skills["Fire safety"], level=2, course=safety)
        aid = Activity.objects.filter(course=safety, title="First aid in five minutes").first()
        if aid is not None:
            services.link_add(user=coordinator, skill=skills["First aid"], level=1, activity=aid)
    if sales is not None:
        for name in ("Discovery questions", "Handling objections"):
            services.link_add(user=coordinator, skill=skills[name], level=3, course=sales)
    team = Team.objects.filter(space=space, manager=users["manager"]).first()
    if team is not None:
        for name, level in (("Fire safety", 2), ("Handling objections", 3)):
            services.target_set(user=users["manager"], skill=skills[name], level=level, team=team)
