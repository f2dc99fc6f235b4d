"""What each role may do (docs/product.md "Roles"); team scope is applied on top by Principal."""

import enum
from dataclasses import dataclass, field

from app.auth.models import Role


class Permission(enum.StrEnum):
    # Dashboards and lists; a viewer sees only its own teams' data.
    read = "read"
    # Exports of the quarterly summary (team leads, leaders).
    export = "export"
    # Pain points, initiatives, models, assessments: a PM only for its own teams.
    edit = "edit"
    # Users, teams, personas, tokens, org settings.
    admin = "admin"

    def describe(self) -> str:
        return {
            "read": "read this page",
            "export": "export reports",
            "edit": "change this data",
            "admin": "manage settings",
        }[self.value]


GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.read: frozenset(Role),
    Permission.export: frozenset(Role),
    Permission.edit: frozenset({Role.admin, Role.pm}),
    Permission.admin: frozenset({Role.admin}),
}

# Roles that read every team's figures; the others read only the teams they belong to.
READS_ALL_TEAMS = frozenset({Role.admin, Role.pm, Role.leader})

# Roles ordered by what they may do: a token acts with the lower of its own role and its user's.
RANK = {Role.viewer: 0, Role.leader: 1, Role.pm: 2, Role.admin: 3}


def lesser_role(a: Role, b: Role) -> Role:
    return a if RANK[a] <= RANK[b] else b


class TeamNotVisible(Exception):
    """A request named teams the principal may not read (see `Principal.scope`)."""

    def __init__(self, team_ids: frozenset[int]) -> None:
        super().__init__(f"teams not visible: {sorted(team_ids)}")
        self.team_ids = team_ids


@dataclass(frozen=True)
class Principal:
    """Who is asking: a logged-in user or an API token acting with a role."""

    user_id: int
    email: str
    role: Role
    team_ids: frozenset[int] = field(default_factory=frozenset)
    via_token: bool = False
    token_id: int | None = None
    # A token bound to one team acts on that team only, whatever its role.
    token_team_id: int | None = None
    name: str = ""

    def has(self, permission: Permission) -> bool:
        return self.role in GRANTS[permission]

    @property
    def actor_label(self) -> str:
        return f"token:{self.token_id} ({self.email})" if self.via_token else self.email

    @property
    def visible_team_ids(self) -> frozenset[int] | None:
        """Teams whose data this principal may read; None means every team.

        A token bound to one team reads that team only, and only while its user may read it
        (`role` and `team_ids` are the user's current ones, see `auth.service.resolve_token`)."""
        reads_all = self.role in READS_ALL_TEAMS
        if self.token_team_id is not None:
            if reads_all or self.token_team_id in self.team_ids:
                return frozenset({self.token_team_id})
            return frozenset()
        return None if reads_all else self.team_ids

    def scope(self, requested: "frozenset[int] | set[int] | None" = None
              ) -> frozenset[int] | None:
        """The one scope rule of every door (pages, API, CSV, exports, dashboard filters): the
        team ids to read, None meaning every team. Without a request, what the principal may
        read; with one, the requested teams, each of which must be readable: a team the
        principal may not see raises `TeamNotVisible`, which the doors report exactly like a
        team that does not exist (its existence is not revealed, as `GET /api/v1/teams/{id}`
        answers 404)."""
        visible = self.visible_team_ids
        if not requested:
            return visible
        hidden = frozenset(requested) - visible if visible is not None else frozenset()
        if hidden:
            raise TeamNotVisible(hidden)
        return frozenset(requested)

    def can_read_team(self, team_id: int) -> bool:
        visible = self.visible_team_ids
        return visible is None or team_id in visible

    def can_edit_team(self, team_id: int) -> bool:
        if not self.has(Permission.edit):
            return False
        if self.token_team_id is not None and team_id != self.token_team_id:
            return False
        return self.role == Role.admin or team_id in self.team_ids

    def can_edit_teams(self, team_ids: "frozenset[int] | set[int]") -> bool:
        """Edit rights on every one of `team_ids` (an object reaching several teams)."""
        return all(self.can_edit_team(t) for t in team_ids)

    @property
    def org_wide(self) -> bool:
        """May act on objects that belong to no team (org-wide initiatives): not a token
        bound to one team."""
        return self.token_team_id is None
