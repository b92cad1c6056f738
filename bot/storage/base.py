"""The store's roles: small Protocols, each for what one part of Kefu needs of the store.

Every implementation (SqliteStore; PostgresStore) provides all of them, and one contract suite
(tests/bot/test_store_contract.py) runs against each. A consumer takes only the roles it uses:
the outbox an `OutboxStore`, the desk's feed a `TicketStore`, the engine a `TurnStore`.
Reads see what is committed (or, on SQLite, what this process has finished and is about to
commit); writes outside `commit_turn` are atomic one by one, or together inside `transaction()`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from bot.state import Conversation
from bot.storage.records import (
    FeedbackCount,
    Loaded,
    Miss,
    OpsSnapshot,
    OutboxItem,
    OutboxStatus,
    StoredFile,
    TaughtExample,
    Ticket,
    TicketFacts,
    TicketMessage,
    TicketQuery,
    TicketStatus,
    UserRecord,
)
from bot.storage.writes import Committed, TurnWrites


class ConversationLocks(Protocol):
    """One turn at a time per conversation key: in the process for SQLite (one process writes
    a conversation's turns), in the database when several processes share one."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold the lock of `key` for the block."""
        ...


class Transactions(Protocol):
    """Atomic groups of writes, and the store's lifetime."""

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """Group writes atomically; nested use in the same task joins the outer one."""
        ...

    async def close(self) -> None:
        """Release the underlying resources."""
        ...


class TurnStore(Protocol):
    """What the engine needs to handle one event: load, then commit what it decided."""

    async def is_seen(self, platform: str, event_id: str) -> bool:
        """Whether the event was handled already (commit_turn is the authority)."""
        ...

    async def mark_seen(self, platform: str, event_id: str, now: float) -> bool:
        """Record an event id on its own; False when it was seen before."""
        ...

    async def load_turn(
        self, user_key: str, conversation: bool = True, event: tuple[str, str] | None = None
    ) -> Loaded:
        """The user, their conversation (if asked) and their open ticket, in one read; and
        whether `event` (platform, event id) was handled already (commit_turn decides)."""
        ...

    async def next_ticket_id(self) -> int:
        """A ticket number never handed out before (committed at once; unused ones are gaps)."""
        ...

    async def commit_turn(self, writes: TurnWrites) -> Committed:
        """Write everything a turn decided, atomically, with its event marked handled.

        Raises AlreadyHandled (the event was handled meanwhile) or Conflict (a saved record
        moved on since it was loaded); then nothing is written.
        """
        ...


class UserStore(Protocol):
    """People and their conversations."""

    async def get_user(self, key: str) -> UserRecord | None:
        """The user, if known."""
        ...

    async def upsert_user(self, user: UserRecord) -> None:
        """Insert or update a user's own fields (`banned` is set only by `set_banned`)."""
        ...

    async def set_banned(self, user_key: str, banned: bool) -> None:
        """Block or unblock a user from opening tickets."""
        ...

    async def set_blocked_bot(self, user_key: str, blocked: bool) -> None:
        """Record that deliveries to the user fail (they blocked the bot) or work again."""
        ...

    async def load_conversation(self, user_key: str) -> Conversation | None:
        """The saved conversation, if any."""
        ...

    async def save_conversation(self, conv: Conversation) -> None:
        """Save a conversation as it is, version included (copies and tests; a turn saves
        its conversation through commit_turn, which checks the version)."""
        ...

    async def forget_user(self, user_key: str) -> list[str]:
        """Delete a user's data; return the paths of files no other ticket still uses."""
        ...


class TicketStore(Protocol):
    """Tickets, their history, their topics on each platform and the queue."""

    async def create_ticket(self, ticket: Ticket) -> Ticket:
        """Insert a ticket (allocating its id when it has none) and return it with its id."""
        ...

    async def update_ticket(self, ticket: Ticket) -> Ticket:
        """Save every field of a ticket loaded at `ticket.version`; the saved copy.

        Raises Conflict when it changed since, KeyError when there is none with its id.
        """
        ...

    async def set_user_unreachable(self, ticket_id: int, unreachable: bool) -> bool:
        """Mark whether the ticket's user can be reached; False when it was so already."""
        ...

    async def touch_paged(self, ticket_id: int, now: float) -> None:
        """Remember when the moderators were last paged for the ticket."""
        ...

    async def get_ticket(self, ticket_id: int) -> Ticket | None:
        """The ticket with that id."""
        ...

    async def open_ticket_for(self, user_key: str) -> Ticket | None:
        """The user's ticket that is open or claimed, if any (at most one exists)."""
        ...

    async def latest_ticket_for(self, user_key: str) -> Ticket | None:
        """The user's most recent ticket in any state."""
        ...

    async def list_tickets(
        self, statuses: Sequence[TicketStatus] = (), limit: int = 100
    ) -> list[Ticket]:
        """Tickets in those states (all when empty), newest first."""
        ...

    async def queue(self) -> list[Ticket]:
        """Open and claimed tickets, by priority (high first), then oldest first."""
        ...

    async def queue_position(self, ticket: Ticket) -> int:
        """1 + how many open (unclaimed) tickets are served before this one."""
        ...

    async def add_message(self, message: TicketMessage) -> TicketMessage:
        """Append to a ticket's history and return the message with its id."""
        ...

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        """A ticket's history, oldest first."""
        ...

    async def messages_after(self, after_id: int, limit: int = 500) -> list[TicketMessage]:
        """Every ticket message with id > after_id, oldest first (for live views)."""
        ...

    async def recent_first_responses(self, limit: int = 20) -> list[float]:
        """Seconds from creation to first moderator response, of the latest answered tickets."""
        ...

    async def active_moderators(self, since: float) -> int:
        """How many distinct moderators wrote, claimed or closed since `since`."""
        ...

    async def set_thread(self, ticket_id: int, platform: str, chat_id: str, thread: str) -> None:
        """Remember a ticket's topic/thread on a platform."""
        ...

    async def thread_of(self, ticket_id: int, platform: str) -> tuple[str, str] | None:
        """(chat_id, thread) of a ticket's topic on a platform."""
        ...

    async def ticket_by_thread(self, platform: str, chat_id: str, thread: str) -> int | None:
        """The ticket whose topic/thread that is."""
        ...

    async def clear_thread(self, ticket_id: int, platform: str) -> None:
        """Forget a ticket's topic on a platform (it was deleted)."""
        ...


class FileRecords(Protocol):
    """What is known of the stored attachments (the bytes are in bot.media.FileStore)."""

    async def add_file(self, file: StoredFile, owner: str = "") -> None:
        """Record a stored file (idempotent by sha256) and, if given, who uploaded it."""
        ...

    async def get_file(self, sha256: str) -> StoredFile | None:
        """A stored file's record."""
        ...

    async def expire_files(self, closed_before: float) -> list[str]:
        """Drop the attachments of tickets closed before then; paths of files now unused."""
        ...


class OutboxStore(Protocol):
    """Durable deliveries: queued with the change that made them, sent in order per lane."""

    async def enqueue(self, item: OutboxItem) -> int:
        """Add a delivery; returns its id (the existing one when the key was seen)."""
        ...

    async def due(
        self,
        platforms: Sequence[str],
        now: float,
        limit: int = 50,
        skip: Collection[int] = (),
    ) -> list[OutboxItem]:
        """Pending deliveries whose time has come, for those platforms, oldest first.

        `skip`: ids of deliveries under way here (they still hold their lanes).

        Only the oldest pending item of each lane is returned, so a destination's messages
        are never reordered by retries. Only committed items: nothing is sent that could
        still be rolled back. An item still marked in flight (a process died between
        `mark_inflight` and recording the outcome: the platform may have taken it) comes back
        with `maybe_doubled = True`.
        """
        ...

    async def mark_inflight(self, item_ids: Sequence[int], now: float) -> list[int]:
        """Claim pending deliveries for this process (`inflight_at = now`), before the sends;
        returns the ids claimed: only those are this process's to send.

        Committed before it returns, so a process killed mid-send leaves the mark for the
        next one to find. Recording the outcome (`mark_sent`, `mark_retry`, `mark_dead`)
        clears it. Where several processes share the store (PostgreSQL), an item another live
        process claimed first is left out, and `due()` there leaves out (and holds the lane
        of) what another live process is sending; what a dead process had claimed comes back
        from `due()` flagged `maybe_doubled`.
        """
        ...

    async def claim(
        self,
        platforms: Sequence[str],
        now: float,
        limit: int = 50,
        skip: Collection[int] = (),
    ) -> list[OutboxItem]:
        """`due()` and `mark_inflight()` in one step: the lane heads due now, claimed for this
        process, oldest first (flagged `maybe_doubled` as `due()` flags them)."""
        ...

    def deliver_here(self, platforms: Collection[str]) -> None:
        """This process's outbox now sends every delivery to these platforms (none: it
        stopped). A commit whose deliveries all go to them wakes no other process (where the
        store tells them, PostgreSQL's NOTIFY): the hub wakes the outbox here after each
        event, and its claim finds them."""
        ...

    async def queued_behind(self, head: OutboxItem, limit: int) -> list[OutboxItem]:
        """The pending deliveries queued behind `head` in its lane (a head this process is
        sending), oldest first, at most `limit` (flagged `maybe_doubled` as `due()` flags
        them): what may be packed into the head's message."""
        ...

    async def claim_run(self, item_ids: Sequence[int], now: float) -> list[int]:
        """Claim deliveries queued behind a head this process is sending, as `mark_inflight`
        claims heads: in id order, up to the first that cannot be claimed (no longer pending,
        or another live process claimed it); the ids claimed, a prefix of the sorted ids, so
        that only a run with no gap is joined into one message."""
        ...

    async def mark_sent(self, item_id: int, now: float, maybe_doubled: bool = False) -> None:
        """The delivery succeeded: store `maybe_doubled` as given, clear the in-flight mark."""
        ...

    async def mark_retry(
        self, item_id: int, next_at: float, error: str, maybe_delivered: bool = False
    ) -> None:
        """The delivery failed for now; count the attempt and try again at `next_at`.

        `maybe_delivered` (the platform may have acted before failing) sticks to the item.
        The in-flight mark is cleared: the outcome of this try is known.
        """
        ...

    async def mark_dead(self, item_id: int, error: str) -> None:
        """The delivery will not succeed: dead-letter it (the in-flight mark is cleared)."""
        ...

    async def retry_dead(self, item_id: int, now: float) -> bool:
        """Put a dead delivery back to pending; False when there is none with that id."""
        ...

    async def outbox_items(
        self, statuses: Sequence[OutboxStatus] = (), limit: int = 100
    ) -> list[OutboxItem]:
        """Deliveries in those states (all when empty), oldest first."""
        ...

    async def outbox_item(self, item_id: int) -> OutboxItem | None:
        """One delivery by id."""
        ...

    async def watch_outbox(self, wake: Callable[[], None]) -> None:
        """Until cancelled, call `wake` when another process enqueued deliveries (a hint: the
        outbox polls too; a store without notifications just waits)."""
        ...

    async def recent_sends(
        self, platform: str, chat_ids: Sequence[str], since: float
    ) -> dict[str, int]:
        """How busy each chat is: deliveries sent to it since `since`, and those waiting."""
        ...

    async def prune_log(self, before: float) -> int:
        """Forget deliveries sent before `before` and event ids seen before it (what keeps
        a delivery and an event from happening twice is only needed for a while); how many
        rows went. Pending and dead deliveries stay."""
        ...

    async def waiting(self, platform: str, chat_ids: Sequence[str]) -> dict[str, int]:
        """Deliveries waiting to be sent to each of these chats (those with none left out)."""
        ...

    async def backlog(self) -> list[tuple[str, str, int, float]]:
        """What waits per chat: (platform, chat id, pending deliveries, the oldest's creation
        time), the longest waiting first."""
        ...


class SnippetStore(Protocol):
    """Moderators' canned replies."""

    async def get_snippet(self, name: str) -> str | None:
        """A canned reply by name."""
        ...

    async def set_snippet(self, name: str, text: str) -> None:
        """Create or replace a canned reply."""
        ...

    async def list_snippets(self) -> list[tuple[str, str]]:
        """Every canned reply, by name."""
        ...


class StatsStore(Protocol):
    """How the help center serves: feedback on articles and queries that found nothing."""

    async def add_feedback(self, article_id: str, query: str, solved: bool, now: float) -> None:
        """Record a Solved / Not solved click."""
        ...

    async def add_search_miss(self, miss: Miss) -> None:
        """Record a query the help center did not answer (found nothing, not solved, or a
        handoff right after an article)."""
        ...

    async def article_stats(self, limit: int = 10) -> list[tuple[str, int, int]]:
        """(article id, solved, not solved), worst solve rate first."""
        ...

    async def top_misses(self, limit: int = 10) -> list[tuple[str, int]]:
        """The most frequent queries that found nothing, with their counts."""
        ...


class QueryStore(Protocol):
    """Read-only questions of the web desk and the reports, answered without loading every
    ticket: finding tickets, noticing a change anywhere cheaply, the facts reports count."""

    async def find_tickets(self, query: TicketQuery) -> list[Ticket]:
        """Tickets matching every criterion given, newest first, at most `query.limit`."""
        ...

    async def change_mark(self) -> tuple[int, ...]:
        """A value that differs whenever a ticket was opened, changed or written in, by any
        process (comparable only with another mark of the same store)."""
        ...

    async def ticket_facts(self, since: float, until: float) -> list[TicketFacts]:
        """The facts of every ticket created or closed in [since, until), oldest first."""
        ...

    async def feedback_counts(self, since: float, until: float) -> list[FeedbackCount]:
        """Solved / Not solved clicks in [since, until), per (article, query as typed)."""
        ...

    async def miss_counts(self, since: float, until: float, limit: int) -> list[tuple[str, int]]:
        """Queries that found nothing in [since, until), folded, most frequent first."""
        ...

    async def ops_snapshot(self, now: float, sla_seconds: float) -> OpsSnapshot:
        """Queue depth, the outbox, dead letters, tickets opened and closed, SLA breaches."""
        ...

    async def moderator_names(self, keys: Collection[str]) -> dict[str, str]:
        """The latest display name of each of those moderators' keys that has one recorded
        (a moderator's turn records it: see TurnWrites.moderator)."""
        ...


class LearningStore(Protocol):
    """What the search learns from: misses a moderator can attach to the right article."""

    async def recent_misses(self, kb: str, limit: int = 20) -> list[Miss]:
        """A knowledge base's latest misses, newest first, leaving out queries already taught."""
        ...

    async def get_miss(self, miss_id: int) -> Miss | None:
        """One miss by id."""
        ...

    async def add_example(self, example: TaughtExample) -> bool:
        """Attach a query to an article; False when that pair was attached already."""
        ...

    async def examples(self, kb: str, after_id: int = 0) -> list[TaughtExample]:
        """A knowledge base's attached queries with id > after_id, oldest first."""
        ...


class AccountStore(Protocol):
    """The web desk's local accounts (a name and its argon2id password hash) and the key its
    sessions are signed with: in the store, so that every process of a deployment, on any
    host, knows the same accounts and accepts the same sessions."""

    async def account_hash(self, name: str) -> str | None:
        """The account's password hash; None when there is no such account."""
        ...

    async def set_account(
        self, name: str, password_hash: str, now: float, replace: bool = True
    ) -> bool:
        """Create an account, or give it a new hash; with `replace` False an existing one is
        kept as it is. Whether the hash was written."""
        ...

    async def remove_account(self, name: str) -> bool:
        """Delete an account; False when there was none."""
        ...

    async def account_names(self) -> list[str]:
        """Every account's name, in byte order."""
        ...

    async def session_key(self, fresh: str, now: float) -> str:
        """The key sessions are signed with: the stored one, else `fresh`, stored now (when
        processes start together, the first to store one wins and all use it)."""
        ...


class Leases(Protocol):
    """One holder at a time of a role of the deployment (the Telegram poller, the Discord
    gateway, the scheduler), for a time-to-live it renews; where one process writes the store
    (SQLite), that process always holds them."""

    async def acquire_lease(self, name: str, ttl: float) -> bool:
        """Take the lease `name`, or renew it, for `ttl` seconds; whether this process holds it."""
        ...

    async def release_lease(self, name: str) -> None:
        """Give the lease up at once (a clean stop), if this process holds it."""
        ...


class Store(
    Transactions,
    TurnStore,
    UserStore,
    TicketStore,
    FileRecords,
    OutboxStore,
    SnippetStore,
    StatsStore,
    QueryStore,
    LearningStore,
    AccountStore,
    Leases,
    Protocol,
):
    """Every role at once: what a store implementation provides."""
