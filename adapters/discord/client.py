"""The Discord adapter: a discord.py 2.x client that answers `/paper` and posts digests.

Why this module exists: it is the `ChatAdapter` for Discord. It owns the
connection (login, gateway, command sync) and the digest posting rules;
`adapters.discord.commands` builds the `/paper` group, `.views` the buttons,
`.render` every payload, `.endpoint` where discord.py connects.

Lifecycle: `from_env` reads the environment and touches no network; `start`
logs in, syncs the command tree if it changed, connects the gateway and
waits for READY; `stop` closes. `shards = "auto"` in the config runs an
`AutoShardedClient` (an integer runs that many shards).

Staying up: discord.py reconnects a dropped gateway itself (each failed
attempt is one log line here, not a traceback), but anything else ends its
client for good while the process stays up. So the client runs under a
supervisor that builds a new one and starts it again, after 5 s, then 10,
20, ... up to 5 minutes (back to 5 s once a client reached READY). Discord
being unreachable at start is such a network problem, retried the same way
while the rest of the bot runs. Only a person can fix a rejected token or
refused intents: at start that is a `ConfigError` naming DISCORD_TOKEN, as
Slack's is (exit status 2); later the adapter gives up and `on_gave_up` (given
by the composition, `bot.app`) ends the process with a non-zero status, so a
supervisor (systemd, Docker) restarts it.
A gateway event discord.py cannot parse (real 2025 interactions lack the
`attachment_size_limit` it requires) never ends the client: a missing limit
is filled in with Discord's default, any other bad event is logged in one
line and skipped (`guard_parsers`).

Command sync: to the guild in `DISCORD_GUILD_ID` (instant; for development)
or globally, and only when the hash of the command payloads (plus the
target and the application id) differs from the one kept in the store under
`discord.command_hash`: Discord rate-limits command writes hard, and a
restart must not rewrite an unchanged tree.

Digests go to a text channel, a thread (`thread` in the subscription, or a
thread id as the channel), or a forum (one new post per digest, titled
`forum_post_title(topic, period)`). Channel and thread posts carry a nonce
per (subscription, period, part) with `enforce_nonce`, so Discord drops a
re-post of the same part within its nonce window. Forbidden and NotFound
become `DeliveryError(permanent=True)` (the engine logs it once and marks the
subscription failing); 5xx and network errors are temporary. 429s are waited
out by discord.py itself (it honours `retry_after`).

find_digest: Discord echoes a nonce only in the answer to the create call,
not in channel history, so every digest message also carries this adapter's
own marker in an embed footer (`adapters.discord.digests`), and after a crash
we read the bot's own recent messages (the last `history_limit`) for it; in a
forum, the messages of the bot's active posts there. Found -> ids; history
read but nothing -> []; cannot read (no access, not connected) -> None.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any, Awaitable, Callable, Mapping

import aiohttp
import discord
from discord import app_commands

from adapters.discord import endpoint
from adapters.discord.commands import PaperCommands, build_group
from adapters.discord.digests import PartMark, digest_messages, digest_parts, read_marks
from adapters.discord.render import forum_post_title, nonce_for, to_send_kwargs
from adapters.discord.views import send_private
from adapters.discord.votes import message_cards, votes_view
from bot.commands import CommandRouter
from bot.config import ConfigError, FileConfig
from bot.errors import DeliveryError
from bot.logs import one_line_errors
from bot.models import DeliveryKey, DigestReply, ErrorReply, Subscription, digest_mark
from bot.plugins import AdapterContext
from bot.ports import PaperStore
from bot.retry import RetryPolicy

log = logging.getLogger(__name__)

COMMAND_HASH_KEY = "discord.command_hash"
DEFAULT_READY_TIMEOUT = 60.0
DEFAULT_HISTORY_LIMIT = 50
# Restarts of a client that ended: after 5 s, then 10, 20, ... up to 5 minutes. A rate limit
# longer than `max_retry_after` is not waited out by discord.py: the next digest sweep retries.
RETRY = RetryPolicy(first_backoff=5.0, max_backoff=300.0, max_retry_after=300.0)
# Gateway close codes no restart can get past: bad token, bad shard settings, API version, refused intents.
FATAL_CLOSE_CODES = frozenset({4004, 4010, 4011, 4012, 4013, 4014})
# discord.py requires it on every interaction; Discord's 2025 payloads do not always carry it.
DEFAULT_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
NETWORK_ERRORS = (OSError, aiohttp.ClientError, asyncio.TimeoutError, discord.GatewayNotFound, discord.ConnectionClosed)
MAX_ERROR_TEXT = 200

Sleep = Callable[[float], Awaitable[None]]

# What the bot needs in a channel: see it, post, post in threads, start forum posts,
# embed links (every answer is embeds), read history (find_digest after a crash).
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    read_message_history=True,
)
INVITE_URL = "https://discord.com/oauth2/authorize?client_id={app_id}&scope=bot+applications.commands&permissions={permissions}"


def invite_url(app_id: int | str) -> str:
    return INVITE_URL.format(app_id=app_id, permissions=INVITE_PERMISSIONS.value)


def command_hash(payload: list[dict], *, target: str, application_id: int | None) -> str:
    """A stable hash of what a sync would send, where, for which application."""
    data = json.dumps({"target": target, "application": application_id, "commands": payload}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def message_text(message: discord.Message) -> str:
    """Content and the embed text a digest header or notice can be in."""
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or "", embed.footer.text or "" if embed.footer else ""]
    return "\n".join(part for part in parts if part)


def message_marks(message: discord.Message) -> list[PartMark]:
    """The digest markers this adapter wrote into a message's embed footers."""
    return read_marks(embed.footer.text or "" for embed in message.embeds if embed.footer)


def _snowflake(value: str | None, what: str) -> int:
    if value is None or not value.strip().isdigit():
        raise DeliveryError(f"{what} {value!r} is not a Discord id (a number; copy it with Developer Mode on)", permanent=True)
    return int(value.strip())


def _http_problem(error: discord.HTTPException, where: str) -> DeliveryError:
    """Forbidden/NotFound/4xx: someone must fix something. 5xx: Discord's trouble, try again later."""
    detail = f"{error.status} {error.response.reason if error.response is not None else ''}".strip()
    text = f" ({error.text})" if error.text else ""
    if isinstance(error, discord.Forbidden):
        return DeliveryError(
            f"Discord answered {detail}{text} for {where}: the bot may not post there; give it View Channel, "
            "Send Messages, Send Messages in Threads and Embed Links in that channel",
            permanent=True,
        )
    if isinstance(error, discord.NotFound):
        return DeliveryError(
            f"Discord answered {detail}{text} for {where}: the channel or thread is gone or the bot was removed", permanent=True
        )
    # Other 4xx: Discord refused this payload or target and will again; 429 (retries exhausted) and 5xx pass.
    return DeliveryError(f"Discord answered {detail}{text} for {where}", permanent=error.status < 500 and error.status != 429)


def guard_parsers(client: discord.Client) -> None:
    """Make every gateway event parser of `client` safe: a bad event is logged and skipped, never fatal.

    discord.py keeps one parse function per event name in its connection
    state (`_connection.parsers`, the dict its gateway calls); an exception
    there ends the client. Wrapped here before the client connects.
    """
    parsers = client._connection.parsers
    for event, parse in list(parsers.items()):
        parsers[event] = _guarded(event, parse)


def _guarded(event: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
    def parse_safely(data: Any) -> None:
        if event == "INTERACTION_CREATE" and isinstance(data, dict):
            data.setdefault("attachment_size_limit", DEFAULT_ATTACHMENT_SIZE_LIMIT)
        try:
            parse(data)
        except Exception as error:  # the event is lost; the connection and every later event are not
            log.error(
                "discord: skipped a %s event discord.py could not read (%s: %s)",
                event,
                type(error).__name__,
                str(error)[:MAX_ERROR_TEXT],
            )

    return parse_safely


def _is_fatal(error: BaseException | None) -> bool:
    """Only a person can fix this (token, intents, shard settings); restarting would fail the same way."""
    if isinstance(error, (discord.LoginFailure, discord.PrivilegedIntentsRequired)):
        return True
    if isinstance(error, discord.ConnectionClosed):
        return error.code in FATAL_CLOSE_CODES
    return False


class _PaperbotClientMixin:
    """Hooks discord.py calls: after login (endpoints, command sync), on READY, when guilds are in."""

    adapter: "DiscordAdapter"

    async def setup_hook(self) -> None:
        await self.adapter._after_login()

    async def on_connect(self) -> None:
        # READY arrived: commands and REST work from here. discord.py's own on_ready waits
        # a further 2 s of silence for guild data, which nothing here needs.
        self.adapter._connected(self)  # type: ignore[arg-type]

    async def on_ready(self) -> None:
        guilds = len(self.guilds)  # type: ignore[attr-defined]
        log.info("discord: %d server%s available", guilds, "" if guilds == 1 else "s")


class PaperbotClient(_PaperbotClientMixin, discord.Client):
    pass


class ShardedPaperbotClient(_PaperbotClientMixin, discord.AutoShardedClient):
    pass


class DiscordAdapter:
    """The ChatAdapter for Discord (see the module docstring)."""

    name = "discord"

    def __init__(
        self,
        router: CommandRouter,
        store: PaperStore,
        *,
        token: str,
        api_url: str | None = None,
        guild_id: int | None = None,
        shards: str | int | None = None,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        sleep: Sleep = asyncio.sleep,
        on_gave_up: Callable[[str, str], None] | None = None,
    ) -> None:
        self.router = router
        self.store = store
        self._token = token
        self.rest_base = endpoint.rest_base(api_url) if api_url else None
        self.guild_id = guild_id
        self.shards = shards
        self.ready_timeout = ready_timeout
        self.history_limit = history_limit
        self.commands = PaperCommands(router)
        self.client: discord.Client | None = None
        self.tree: app_commands.CommandTree | None = None
        self.synced: bool | None = None  # after start: True when commands were written, False when unchanged
        self.sleep = sleep  # the waits between restarts; tests record them instead
        self.restarts: list[float] = []  # the delay before each restart so far
        self.on_gave_up = on_gave_up  # (adapter name, problem): this adapter cannot go on; the run should end
        self._supervisor: asyncio.Task | None = None
        self._first_failure: asyncio.Future[str | None] | None = None  # while start() waits: a fatal problem, or None
        self._stopping = False
        self._ready = asyncio.Event()

    def __repr__(self) -> str:  # never the token
        return f"DiscordAdapter(api={self.rest_base or 'discord.com'}, guild={self.guild_id})"

    @classmethod
    def from_env(
        cls, router: CommandRouter, config: FileConfig, env: Mapping[str, str], store: PaperStore, *,
        on_gave_up: Callable[[str, str], None] | None = None, sleep: Sleep = asyncio.sleep,
    ) -> "DiscordAdapter":
        token = env.get("DISCORD_TOKEN", "").strip()
        if not token:
            raise ConfigError("environment", "DISCORD_TOKEN", "is empty")
        guild = env.get("DISCORD_GUILD_ID", "").strip()
        if guild and not guild.isdigit():
            raise ConfigError("environment", "DISCORD_GUILD_ID", f"must be a server id (a number), got {guild[:40]!r}")
        return cls(
            router,
            store,
            token=token,
            api_url=env.get("DISCORD_API_URL", "").strip() or None,
            guild_id=int(guild) if guild else None,
            shards=config.discord.shards,
            sleep=sleep,
            on_gave_up=on_gave_up,
        )

    # --- lifecycle ------------------------------------------------------------------

    def _build_client(self) -> discord.Client:
        # paperbot has no voice; discord.py would warn at every start that voice libraries are missing.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        options: dict[str, Any] = dict(
            intents=discord.Intents(guilds=True),  # channels and threads; no message content, no members
            allowed_mentions=discord.AllowedMentions.none(),
            # A longer wait than this is the next digest sweep's job: RateLimited -> a temporary DeliveryError.
            max_ratelimit_timeout=RETRY.max_retry_after,
        )
        if self.shards is not None:
            client: discord.Client = ShardedPaperbotClient(
                shard_count=None if self.shards == "auto" else int(self.shards), **options
            )
        else:
            client = PaperbotClient(**options)
        client.adapter = self  # type: ignore[attr-defined]
        guard_parsers(client)
        tree = app_commands.CommandTree(client)
        tree.add_command(build_group(self.commands))
        client.add_dynamic_items(self.commands.button_type, self.commands.vote_type)  # buttons sent before this client
        tree.on_error = self._on_command_error  # type: ignore[method-assign]
        self.tree = tree
        return client

    async def start(self) -> None:
        if self.rest_base:
            endpoint.use_rest_base(self.rest_base)
        for name in ("discord.client", "discord.shard"):
            one_line_errors(name, NETWORK_ERRORS)
        self._stopping = False
        first_failure = self._first_failure = asyncio.get_running_loop().create_future()
        self._supervisor = asyncio.create_task(self._supervise(), name="discord-client")
        waiter = asyncio.create_task(self._ready.wait())
        await asyncio.wait({waiter, first_failure}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        self._first_failure = None  # from now on a failure is the supervisor's to handle
        if self._ready.is_set():
            return
        fatal = first_failure.result() if first_failure.done() else None
        if fatal is not None:
            await self.stop()
            # The same error as Slack's for its rejected token: the variable to fix, exit status 2.
            raise ConfigError("environment", "DISCORD_TOKEN", fatal, "Check DISCORD_TOKEN (and DISCORD_API_URL if you set it).")
        if not first_failure.done():
            log.warning(
                "discord: no READY from the gateway within %.0fs (%s); still trying",
                self.ready_timeout,
                self.rest_base or "Discord",
            )
        # Not connected yet, for a network reason: the supervisor keeps trying while the rest of the bot runs.

    async def _supervise(self) -> None:
        """Run a client; when it ends (and we are not stopping), build and start another, with backoff."""
        failures = 0
        while not self._stopping:
            self._ready.clear()
            self.client = self._build_client()
            error = await self._run_client(self.client)
            if self._stopping:
                return
            problem = self._problem(error)
            starting = self._first_failure
            if _is_fatal(error):
                if starting is not None and not starting.done():
                    starting.set_result(problem)  # start() raises it: exit status 2
                else:
                    self._give_up(problem)
                return
            failures = 1 if self._ready.is_set() else failures + 1
            delay = RETRY.backoff(failures)
            if starting is not None and not starting.done():
                starting.set_result(None)  # start() returns: a network problem is retried here
            log.warning("%s; starting a new client in %.0f s", problem, delay)
            self.restarts.append(delay)
            await self.sleep(delay)

    async def _run_client(self, client: discord.Client) -> BaseException | None:
        """Until the client ends; what ended it (None: it returned, which only closing should make it do)."""
        try:
            await client.start(self._token)
            return None
        except Exception as error:
            return error
        finally:
            if not client.is_closed():
                await client.close()

    def _connected(self, client: discord.Client) -> None:
        if not self._ready.is_set():
            log.info("discord: connected as %s (application %s)", client.user, client.application_id)
        self._ready.set()

    def _give_up(self, problem: str) -> None:
        log.error("%s; not restarting, only a new token or settings can fix this", problem)
        if self.on_gave_up is not None:
            self.on_gave_up(self.name, problem)

    def _problem(self, error: BaseException | None) -> str:
        where = self.rest_base or "Discord"
        if error is None:
            return "discord: the client stopped"
        if isinstance(error, discord.LoginFailure):
            return "discord: the token was rejected (401 Unauthorized)"
        if isinstance(error, discord.PrivilegedIntentsRequired):
            return "discord: the gateway refused the requested intents"
        if isinstance(error, discord.ConnectionClosed):
            return f"discord: the gateway closed the connection (code {error.code})"
        if isinstance(error, (aiohttp.ClientError, OSError, asyncio.TimeoutError, discord.GatewayNotFound)):
            return f"discord: cannot reach {where} ({type(error).__name__}), a network problem"
        if isinstance(error, discord.HTTPException):
            return f"discord: {error.status} from {where}"
        return f"discord: the client stopped ({type(error).__name__}: {str(error)[:MAX_ERROR_TEXT]})"

    async def stop(self) -> None:
        self._stopping = True
        client, supervisor = self.client, self._supervisor
        try:
            if client is not None and not client.is_closed():
                await client.close()
            if supervisor is not None and not supervisor.done():
                supervisor.cancel()  # it may be waiting to restart; a closing client is closed by _run_client
                try:
                    await asyncio.wait_for(supervisor, timeout=10)
                except (asyncio.TimeoutError, asyncio.CancelledError):
                    pass
        finally:
            endpoint.restore()

    async def _after_login(self) -> None:
        """After login, before the gateway: point the gateway at our server, then sync commands."""
        assert self.client is not None and self.tree is not None
        if self.rest_base:
            _, gateway_url, _ = await self.client.http.get_bot_gateway()
            endpoint.use_gateway(gateway_url)
            log.info("discord: using API %s, gateway %s", self.rest_base, gateway_url)
        await self.sync_commands()

    async def sync_commands(self) -> bool:
        """Sync the tree when it changed since the last sync; True when it was written."""
        assert self.client is not None and self.tree is not None
        guild = discord.Object(id=self.guild_id) if self.guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        target = f"guild:{self.guild_id}" if guild else "global"
        digest = command_hash(payload, target=target, application_id=self.client.application_id)
        if await self.store.get_meta(COMMAND_HASH_KEY) == digest:
            log.info("discord: /paper commands unchanged since the last sync (%s); not syncing", target)
            self.synced = False
            return False
        try:
            await self.tree.sync(guild=guild)
        except discord.HTTPException as error:
            # Commands keep their previous definition; the next start tries again.
            log.error("discord: syncing /paper commands (%s) failed: %s %s", target, error.status, error.text)
            self.synced = False
            return False
        await self.store.set_meta(COMMAND_HASH_KEY, digest)
        log.info("discord: synced /paper commands (%s)", target)
        self.synced = True
        return True

    async def _on_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(cause, discord.HTTPException):
            # Answering itself failed (the interaction expired, Discord is down): nothing more can be sent to it.
            log.warning(
                "discord: could not answer /paper %s: %s %s", getattr(interaction.command, "name", "?"), cause.status, cause.text
            )
            return
        if isinstance(error, (app_commands.CommandNotFound, app_commands.CommandSignatureMismatch)):
            # Discord still shows an older command list (a sync is pending or failed).
            log.warning("discord: %s", error)
            reply = ErrorReply(
                "That /paper command is not known to this bot.", "Discord's command list may be out of date; see /paper help."
            )
        else:
            log.error("discord: /paper failed: %s", error, exc_info=error)
            reply = ErrorReply("Something went wrong on our side; the error has been logged.", "Please try again in a moment.")
        try:
            await send_private(interaction, reply)
        except discord.HTTPException as failed:
            log.warning("discord: could not send the error reply: %s %s", failed.status, failed.text)

    # --- digests --------------------------------------------------------------------

    def _connected_client(self) -> discord.Client:
        if self.client is None or self.client.is_closed() or self.client.user is None:
            raise DeliveryError("the Discord client is not connected", permanent=False)
        return self.client

    async def _channel(self, client: discord.Client, channel_id: int) -> Any:
        return client.get_channel(channel_id) or await client.fetch_channel(channel_id)

    async def post_digest(self, subscription: Subscription, reply: DigestReply) -> list[str]:
        mark = digest_mark(reply)
        key = mark.key
        ref = subscription.channel
        target = ref.thread or ref.channel
        where = f"{'thread' if ref.thread else 'channel'} {target}"
        target_id = _snowflake(target, "thread" if ref.thread else "channel")
        client = self._connected_client()
        messages = digest_messages(reply)
        views = [votes_view(self.commands.vote_type, ref.workspace or "", message_cards(reply, message)) for message in messages]

        def buttons(part: int) -> dict[str, Any]:
            return {"view": views[part]} if views[part] is not None else {}

        try:
            channel = await self._channel(client, target_id)
            if isinstance(channel, discord.ForumChannel):
                title = forum_post_title(mark.topic.display_title, key.period)
                first = await channel.create_thread(name=title, **to_send_kwargs(messages[0]), **buttons(0))
                ids = [str(first.message.id)]
                for part, message in enumerate(messages[1:], 1):
                    sent = await first.thread.send(
                        **to_send_kwargs(message), nonce=nonce_for(key.subscription_id, key.period, part), **buttons(part)
                    )
                    ids.append(str(sent.id))
                return ids
            if not isinstance(channel, discord.abc.Messageable) or isinstance(
                channel, (discord.VoiceChannel, discord.StageChannel)
            ):
                raise DeliveryError(
                    f"{where} is a {getattr(channel, 'type', 'channel')} channel; use a text channel, a thread or a forum",
                    permanent=True,
                )
            ids = []
            for part, message in enumerate(messages):
                sent = await channel.send(
                    **to_send_kwargs(message), nonce=nonce_for(key.subscription_id, key.period, part), **buttons(part)
                )
                ids.append(str(sent.id))
            return ids
        except discord.HTTPException as error:
            raise _http_problem(error, where) from None
        except discord.RateLimited as error:
            raise DeliveryError(f"Discord rate limit for {where}: retry in {error.retry_after:.0f}s", permanent=False) from None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            raise DeliveryError(f"network error posting to {where} ({type(error).__name__})", permanent=False) from None

    async def find_digest(self, subscription: Subscription, key: DeliveryKey) -> list[str] | None:
        ref = subscription.channel
        try:
            client = self._connected_client()
            target_id = _snowflake(ref.thread or ref.channel, "channel")
        except DeliveryError:
            return None
        me = client.user.id  # type: ignore[union-attr]
        try:
            channel = await self._channel(client, target_id)
            if isinstance(channel, discord.ForumChannel):
                # Newest post first; a forum digest is one post of the bot's own.
                threads = sorted(await channel.guild.active_threads(), key=lambda thread: thread.id, reverse=True)
                for thread in threads:
                    if thread.parent_id == channel.id and thread.owner_id == me:
                        found = digest_parts(await self._own_marks(thread, me, oldest_first=True), key)
                        if found:
                            return found
                return []
            if not hasattr(channel, "history"):
                return None
            own = await self._own_marks(channel, me, oldest_first=False)
        except (discord.HTTPException, aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            log.warning("discord: cannot read %s to check digest %s: %s", ref.key, key.label, error)
            return None
        own.reverse()  # history is newest first
        return digest_parts(own, key)

    async def _own_marks(self, channel: Any, me: int, *, oldest_first: bool) -> list[tuple[str, list[PartMark]]]:
        """The bot's own messages among the channel's last `history_limit`, with their digest markers."""
        history = channel.history(limit=self.history_limit, oldest_first=oldest_first)
        return [(str(message.id), message_marks(message)) async for message in history if message.author.id == me]


def build(context: AdapterContext) -> DiscordAdapter:
    """The `discord` plugin's factory (`adapters.discord.plugin`)."""
    return DiscordAdapter.from_env(
        context.router, context.config, context.env, context.papers, on_gave_up=context.on_gave_up, sleep=context.sleep
    )
