"""Derived tables kept in step with the rows they are computed from, inside the writing
transaction (CONVENTIONS.md, "Derived tables").

Each kept table declares itself once, as a `Kept` (`keep`): the tables it is computed from,
how to find the scopes a flush touched, how to refresh the rows of some scopes, how to rebuild
every row, and the *allow-list* of filter fields its rows can answer (`answers`: a read with any
other filter set falls back to the live query). `rebuild_all` and `maintain_all` serve every
caller that builds them wholesale (`northstar migrate`, `restore`, `rebuild`, `maintain`, the
benchmark's generator).

The rules that keep them right:

- **Marks live as long as the outermost transaction.** A flush marks the scopes it touched
  (read while the flush's history is still readable). The marks are refreshed before the
  outermost transaction commits and before a read of the table in that session; a SAVEPOINT's
  release refreshes nothing (an import refreshes once, at the end). Rolling back a savepoint
  forgets no mark: the rows a refresh wrote inside it are gone, so every scope touched in the
  transaction is refreshed again. Only the end of the outermost transaction forgets the marks.
- **Writers to different scopes never wait for each other.** On PostgreSQL a refresh takes a
  shared lock on the table and an exclusive transaction-level advisory lock per scope key (a
  team, a model), in key order; a rebuild (or a scope without a key) takes the table's lock
  exclusively. Readers take no lock. SQLite serialises writers anyway.
- **Too many scopes** (`max_scopes`, an import of thousands of rows over hundreds of teams):
  one rebuild instead.
"""

import dataclasses
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, event, inspect, text
from sqlalchemy.orm import Session, SessionTransaction

_MARKS = "derived_marks"  # name -> every scope touched in the outermost transaction
_PENDING = "derived_pending"  # name -> the scopes not refreshed since


@dataclass(frozen=True)
class Kept:
    name: str  # the table it keeps
    depends_on: tuple[str, ...]  # the tables its rows are computed from
    touched: Callable[[Session], set[Hashable]]  # after a flush: the scopes it changed
    refresh: Callable[[Connection, set[Hashable]], None]  # rebuild the rows of these scopes
    rebuild: Callable[[Connection], None]  # every row afresh
    lock_keys: Callable[[Hashable], Iterable[int] | None]  # a mark's keys; None: the table
    answers: frozenset[str]  # the filter fields its rows can answer
    lock_class: int  # first half of its PostgreSQL advisory locks, unique per table
    max_scopes: int = 200
    # Brings rows that depend on the calendar or settings up to date (`northstar maintain`),
    # taking `lock_table` only when there is work; returns whether it changed anything.
    maintain: Callable[[Connection], bool] | None = None
    # After a savepoint rolled back, the marks to refresh again: a mark whose refresh is not
    # idempotent (rows added to totals) becomes one that is (its scopes recomputed).
    replay: Callable[[set[Hashable]], set[Hashable]] | None = None


_KEPT: dict[str, Kept] = {}


def attribute_values(obj: Any, name: str) -> list[Any]:
    """A flushed object's attribute now and, when this flush changed it, before: the scopes a
    `touched` callback marks (a row moved to another model marks both)."""
    history = inspect(obj).attrs[name].history
    return [getattr(obj, name), *(history.deleted or ())]


def keep(kept: Kept) -> Kept:
    if any(k.lock_class == kept.lock_class for k in _KEPT.values() if k.name != kept.name):
        raise ValueError(f"lock class {kept.lock_class} is taken")
    _KEPT[kept.name] = kept
    return kept


def kept_tables() -> list[Kept]:
    return list(_KEPT.values())


def answers(kept: Kept, filters: Any) -> bool:
    """Whether the rows can answer `filters` (a dataclass): every field outside the allow-list
    is at its default, so a filter field added later is answered live until it is allowed."""
    for field in dataclasses.fields(filters):
        if field.name in kept.answers:
            continue
        default = (field.default_factory() if field.default_factory is not dataclasses.MISSING
                   else field.default)
        if getattr(filters, field.name) != default:
            return False
    return True


# --- locks ------------------------------------------------------------------------------------

# Advisory locks belong to the whole database, tables to a schema: the lock class is mixed with
# the schema's name, so that two schemas of one database (two installations, or two test
# workers) do not wait for each other's derived tables. One schema: a constant offset.
_CLASS = "(CAST(:c AS integer) # hashtext(current_schema()))"


def _lock(connection: Connection, kept: Kept, keys: Iterable[int] | None) -> None:
    """PostgreSQL: the scopes' keys (shared on the table), or the whole table (keys None)."""
    if connection.dialect.name != "postgresql":
        return
    if keys is None:
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_CLASS}, 0)"),
                           {"c": kept.lock_class})
        return
    connection.execute(text(f"SELECT pg_advisory_xact_lock_shared({_CLASS}, 0)"),
                       {"c": kept.lock_class})
    ordered = sorted(set(keys))
    if ordered:
        # One statement, in key order: two refreshes never wait for each other in a cycle.
        connection.execute(text(
            f"SELECT count(pg_advisory_xact_lock({_CLASS}, k)) FROM "
            "(SELECT k FROM unnest(CAST(:keys AS integer[])) AS k ORDER BY k) AS ordered"),
            {"c": kept.lock_class, "keys": ordered})


def lock_table(connection: Connection, kept: Kept) -> None:
    """The table's exclusive lock (PostgreSQL), until the transaction ends."""
    _lock(connection, kept, None)


def _refresh_scopes(connection: Connection, kept: Kept, scopes: set[Hashable]) -> None:
    keys: set[int] = set()
    whole = len(scopes) > kept.max_scopes
    for scope in scopes:
        found = kept.lock_keys(scope)
        if found is None:
            whole = True
            break
        keys.update(found)
    _lock(connection, kept, None if whole else keys)
    if len(scopes) > kept.max_scopes:
        kept.rebuild(connection)
    else:
        kept.refresh(connection, scopes)


# --- in a session -----------------------------------------------------------------------------

def refresh(session: Session, *names: str) -> None:
    """Brings the named tables (every kept table when none is named) up to date with this
    session's writes: flushes, then refreshes the scopes marked since their last refresh."""
    session.flush()
    pending: dict[str, set[Hashable]] = session.info.get(_PENDING, {})
    for name in names or tuple(_KEPT):
        scopes = pending.pop(name, None)
        if scopes:
            _refresh_scopes(session.connection(), _KEPT[name], scopes)


def fresh(session: Session, name: str) -> None:
    """Before reading `name`: this session's own writes are in it."""
    if (session.new or session.dirty or session.deleted
            or session.info.get(_PENDING, {}).get(name)):
        refresh(session, name)


def mark(session: Session, name: str, scopes: set[Hashable]) -> None:
    """Marks what a write that bypassed the ORM's flush (a bulk INSERT) touched."""
    session.info.setdefault(_MARKS, {}).setdefault(name, set()).update(scopes)
    session.info.setdefault(_PENDING, {}).setdefault(name, set()).update(scopes)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    for kept in _KEPT.values():
        if scopes := kept.touched(session):
            session.info.setdefault(_MARKS, {}).setdefault(kept.name, set()).update(scopes)
            session.info.setdefault(_PENDING, {}).setdefault(kept.name, set()).update(scopes)


@event.listens_for(Session, "before_commit")
def _refresh_before_commit(session: Session) -> None:
    # SQLAlchemy fires this for a savepoint's release too: only the outermost commit refreshes.
    if session.in_nested_transaction():
        return
    refresh(session)


@event.listens_for(Session, "after_soft_rollback")
def _savepoint_rolled_back(session: Session, previous: SessionTransaction) -> None:
    if previous.nested:
        # A refresh inside the savepoint is undone with it: everything touched is pending again.
        marks: dict[str, set[Hashable]] = session.info.get(_MARKS, {})
        pending = session.info.setdefault(_PENDING, {})
        for name, scopes in marks.items():
            replay = _KEPT[name].replay
            again = replay(scopes) if replay else scopes
            marks[name] = set(again)
            pending[name] = set(again)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_MARKS, None)
        session.info.pop(_PENDING, None)


# --- wholesale --------------------------------------------------------------------------------

def _each_connection(bind: Session | Engine | Connection,
                     work: Callable[[Connection], Any]) -> Any:
    if isinstance(bind, Session):
        bind.flush()
        return work(bind.connection())
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            return work(connection)
    return work(bind)


def rebuild_all(bind: Session | Engine | Connection, *names: str) -> list[str]:
    """Every row of every kept table (or of `names`) afresh, each under its exclusive lock:
    after a migration, a restore, a bulk load that bypassed the ORM, or `northstar rebuild`.
    A session's pending marks are then moot. Returns the tables rebuilt."""
    chosen = [_KEPT[name] for name in names] if names else list(_KEPT.values())

    def work(connection: Connection) -> list[str]:
        for kept in chosen:
            _lock(connection, kept, None)
            kept.rebuild(connection)
        return [kept.name for kept in chosen]

    done = _each_connection(bind, work)
    if isinstance(bind, Session):
        pending = bind.info.get(_PENDING, {})
        for kept in chosen:
            pending.pop(kept.name, None)
    return done


def maintain_all(bind: Session | Engine | Connection) -> list[str]:
    """What `northstar maintain` runs on a schedule: each kept table whose rows depend on the
    calendar or the org's settings is brought up to date. Returns the tables it changed."""

    def work(connection: Connection) -> list[str]:
        changed = []
        for kept in _KEPT.values():
            if kept.maintain is not None:
                if kept.maintain(connection):
                    changed.append(kept.name)
        return changed

    return _each_connection(bind, work)
