"""A fake Telegram Bot API server for end-to-end tests of the bot.

The fake is a real HTTP server on 127.0.0.1, so the unmodified python-telegram-bot stack
(``Application`` -> ``Bot`` -> ``HTTPXRequest``) is exercised exactly as in production:
request encoding, JSON parsing, error mapping (``RetryAfter``, ``Forbidden``...) and the
``Updater``'s long-polling loop. Point PTB at it with
``ApplicationBuilder().token(tg.token).base_url(tg.base_url).base_file_url(tg.base_file_url)``.

Tests drive it from both ends: they inject updates (``send_text``, ``press_button``...) that
``getUpdates`` hands out (or, once the bot set a webhook, ``post_webhooks_to`` POSTs), and they observe every Bot API call the bot made (``calls``,
``wait_for``, ``wait_for_reply``, ``texts``). All state lives on the instance; use it from the
event loop that runs the test.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import html
import itertools
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import aiohttp
from aiohttp import web

JSON = dict[str, Any]

#: getFile refuses bots larger files, as Telegram's cloud Bot API does.
BOT_DOWNLOAD_LIMIT = 20 * 1024 * 1024

#: PTB form-encodes objects, arrays and booleans as JSON strings; these free-text fields are
#: never decoded, so a user text that merely looks like JSON stays a string.
_TEXT_FIELDS = frozenset(
    {"text", "caption", "title", "description", "short_description", "question", "explanation"}
)
_INT_FIELDS = frozenset({"chat_id", "message_id", "from_chat_id", "user_id"})
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?")
# What a person sends that must never reach a log: who they are, and what they wrote (texts long
# enough that finding one in a log cannot be chance).
_IDENTITY_FIELDS = ("first_name", "last_name", "username", "phone_number")
_CONTENT_FIELDS = ("text", "caption", "address", "data")
_SHORTEST_CONTENT = 12
_SHORTEST_ID = 10_000  # a test's user 1 cannot be told from "report=1"; real ids are far longer
_MEDIA_METHODS = {
    "sendPhoto": "photo",
    "sendDocument": "document",
    "sendVideo": "video",
    "sendVoice": "voice",
    "sendAudio": "audio",
    "sendAnimation": "animation",
}
#: The fields that make up a message's content, i.e. what copyMessage duplicates.
_CONTENT_FIELDS = (
    "text", "entities", "caption", "caption_entities", "photo", "document", "video", "voice",
    "audio", "animation", "sticker", "contact", "location", "venue", "poll", "dice",
)  # fmt: skip
#: setter -> (getter, stored field, parameter the value is keyed by, default)
_SETTINGS = {
    "setChatMenuButton": ("getChatMenuButton", "menu_button", "chat_id", {"type": "default"}),
    "setMyDescription": ("getMyDescription", "description", "language_code", ""),
    "setMyShortDescription": ("getMyShortDescription", "short_description", "language_code", ""),
}
_DEFAULT_ERRORS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


@dataclass
class FakeUser:
    """A human Telegram user who talks to the bot."""

    id: int
    first_name: str = "Test"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"

    def to_dict(self) -> JSON:
        optional = {"last_name": self.last_name, "username": self.username,
                    "language_code": self.language_code}  # fmt: skip
        user = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        return user | {k: v for k, v in optional.items() if v is not None}

    def private_chat(self) -> JSON:
        optional = {"last_name": self.last_name, "username": self.username}
        chat = {"id": self.id, "type": "private", "first_name": self.first_name}
        return chat | {k: v for k, v in optional.items() if v is not None}


@dataclass
class Call:
    """One Bot API request the bot made; ``failed`` is the HTTP status of an error reply."""

    method: str
    params: JSON
    files: dict[str, bytes] = field(default_factory=dict)
    result: Any = None
    failed: int | None = None


@dataclass
class _Upload:
    filename: str | None
    content_type: str
    data: bytes


_Handler = Callable[[JSON, dict[str, _Upload]], Any]


class ApiError(Exception):
    """Raised by a method handler (or injected by ``fail_next``) to answer with an error."""

    def __init__(
        self, status: int, description: str, retry_after: int | None = None, migrate_to_chat_id: int | None = None
    ) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after
        self.migrate_to_chat_id = migrate_to_chat_id


class Hold:
    """Calls to one method (to one chat, if `chat_id`) wait here until `release()`; `arrived` is
    set by the first."""

    def __init__(self, chat_id: int | None = None) -> None:
        self.chat_id = chat_id
        self.arrived = asyncio.Event()
        self._released = asyncio.Event()

    async def keep(self) -> None:
        self.arrived.set()
        await self._released.wait()

    def release(self) -> None:
        self._released.set()


class _Signal:
    """Wakes every waiter whenever anything changed; each waiter re-checks its own condition.

    A fresh ``asyncio.Event`` per generation avoids the clear()/wait() races of a shared one,
    and lets synchronous code (``push_update``) notify without awaiting.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if (remaining := deadline - loop.time()) <= 0:
                return False
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except TimeoutError:
                return condition()
        return True


def _utf16_len(text: str) -> int:
    """Telegram measures entity offsets and lengths, and message lengths, in UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


#: Telegram's limits, in UTF-16 code units of the text after its entities are parsed.
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024


def _check_length(params: JSON, name: str, limit: int) -> None:
    """Refuse a text or caption longer than Telegram takes, as Telegram does."""
    if not isinstance(value := params.get(name), str):
        return
    if params.get("parse_mode") == "HTML":
        value = html.unescape(re.sub(r"<[^>]*>", "", value))
    if _utf16_len(value) > limit:
        raise ApiError(400, "Bad Request: message caption is too long" if name == "caption" else "Bad Request: message is too long")


def _decode_param(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in _TEXT_FIELDS:
        return value
    if name in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if value in ("true", "false"):
        return value == "true"
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value


def _chat_of(update: JSON) -> int | None:
    """The chat an update belongs to (for a button press, its message's), or None."""
    for payload in update.values():
        if isinstance(payload, dict):
            chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
            return chat["id"] if isinstance(chat, dict) else None
    return None


def _inline_markup(params: JSON) -> JSON | None:
    """Telegram echoes only inline keyboards in a Message; reply keyboards live client-side."""
    markup = params.get("reply_markup")
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


class FakeTelegram:
    """An in-process fake of ``api.telegram.org`` serving one bot (see the module docstring)."""

    created: ClassVar[list[FakeTelegram]] = []  # every instance, for the suite-wide log scan

    def __init__(
        self,
        *,
        bot_id: int = 123456789,
        username: str = "fake_test_bot",
        first_name: str = "Test Bot",
    ) -> None:
        self.bot_id = bot_id
        self.token = f"{bot_id}:AAH{secrets.token_urlsafe(24)}"
        self.bot_user: JSON = {"id": bot_id, "is_bot": True, "first_name": first_name,
                               "username": username}  # fmt: skip
        self.calls: list[Call] = []
        self.personal_data: set[str] = set()  # see `_note_personal_data`
        FakeTelegram.created.append(self)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._closing = False
        self._changed = _Signal()
        self._arrived: set[str] = set()  # methods called at least once, noted on arrival
        self._ids = itertools.count(1)  # update, callback query and file ids
        self._pending: list[JSON] = []  # updates not yet confirmed by a getUpdates offset
        self._mark_at_last_update = 0
        self._reply_cursor: dict[int, int] = {}
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._messages: dict[int, dict[int, JSON]] = {}  # chat id -> message id -> Message
        self._last_bot_message: dict[int, int] = {}
        self._last_message_id: dict[int, int] = {}
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, data)
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._settings: dict[tuple[str, str], Any] = {}
        self._webhook_url = ""
        self._webhook_secret = ""
        self._webhook_connections = 40
        self._webhook_poster: asyncio.Task[None] | None = None
        self.webhook_statuses: list[int] = []  # the bot's answers to the updates POSTed to it
        self._failures: dict[str, deque[tuple[ApiError, int | None]]] = {}
        self._holds: dict[str, Hold] = {}
        self._handlers: dict[str, _Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message,
            "editMessageCaption": self._edit_message,
            "editMessageReplyMarkup": self._edit_message,
            "copyMessage": self._copy_message,
            "setMyCommands": self._set_commands,
            "deleteMyCommands": self._set_commands,
            "getMyCommands": lambda params, _: self._commands.get(self._command_key(params), []),
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getFile": self._get_file,
        }
        for method, kind in _MEDIA_METHODS.items():
            self._handlers[method] = functools.partial(self._send_media, kind)
        for setter, (getter, name, key, default) in _SETTINGS.items():
            self._handlers[setter] = functools.partial(self._store_setting, name, key)
            self._handlers[getter] = functools.partial(self._read_setting, name, key, default)
        known = [*self._handlers, "close", "logOut", "answerCallbackQuery", "leaveChat"]
        self._canonical = {name.lower(): name for name in known}

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # handler_cancellation: a long poll whose client hung up must not linger and later
        # record a delivery that never happened.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        self._changed.notify()  # answer pending long polls now instead of at their timeout
        await self.stop_posting_webhooks()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        assert self._port, "FakeTelegram is not started"
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        assert self._port, "FakeTelegram is not started"
        return f"http://127.0.0.1:{self._port}/file/bot"

    # ----------------------------------------------------------------- injecting updates
    def push_update(self, update: JSON) -> JSON:
        """Queue a raw Update for getUpdates; assigns a fresh ``update_id`` if missing."""
        update.setdefault("update_id", next(self._ids))
        self._note_personal_data(update)
        for payload in update.values():
            if isinstance(payload, dict):  # learn chats, users and messages for later calls
                if isinstance(payload.get("chat"), dict):
                    self._chats.setdefault(payload["chat"]["id"], payload["chat"])
                    if "message_id" in payload:
                        self._store(payload)
                if isinstance(payload.get("from"), dict):
                    self._users[payload["from"]["id"]] = payload["from"]
        self._pending.append(update)
        self._mark_at_last_update = len(self.calls)
        self._changed.notify()
        return update

    def _note_personal_data(self, value: Any) -> None:
        """Identities and words from people's updates, never the bot's own message that a
        button press carries along."""
        if isinstance(value, list):
            for item in value:
                self._note_personal_data(item)
        if not isinstance(value, dict) or value.get("is_bot"):
            return
        for key, item in value.items():
            if key in _IDENTITY_FIELDS and isinstance(item, str) and len(item.strip()) >= 3:
                self.personal_data.add(item.strip())
            elif (key in _CONTENT_FIELDS and isinstance(item, str) and len(item.strip()) >= _SHORTEST_CONTENT
                  and not _COMMAND_RE.fullmatch(item.strip())):  # a bare /command says nothing of anyone
                self.personal_data.add(item.strip())
            elif key in ("id", "user_id") and isinstance(item, int) and item >= _SHORTEST_ID and item != self.bot_id:
                self.personal_data.add(str(item))  # users and private chats; groups are negative
            elif not (key == "message" and "data" in value):  # a callback query's message is the bot's
                self._note_personal_data(item)

    def send_text(self, user: FakeUser, text: str, *, chat: JSON | None = None) -> JSON:
        """A text message from ``user``; a leading ``/command`` gets its bot_command entity."""
        fields: JSON = {"text": text}
        if command := _COMMAND_RE.match(text):
            length = _utf16_len(command.group())
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.send_message(user, chat=chat, **fields)

    def send_message(self, user: FakeUser, *, chat: JSON | None = None, **fields: Any) -> JSON:
        """A message from ``user`` with any content fields (sticker=, contact=, photo=...)."""
        chat = chat or user.private_chat()
        message = {"message_id": self._new_message_id(chat["id"]), "from": user.to_dict(),
                   "chat": chat, "date": int(time.time()), **fields}  # fmt: skip
        return self.push_update({"message": message})

    def press_button(
        self, user: FakeUser, message: JSON, data: str, *, chat: JSON | None = None
    ) -> JSON:
        """A callback_query from a button under ``message``, as the message is stored now."""
        chat = chat or message["chat"]
        current = self._messages.get(chat["id"], {}).get(message["message_id"], message)
        query = {"id": f"{self.bot_id}{next(self._ids):08d}", "from": user.to_dict(),
                 "message": copy.deepcopy(current) | {"chat": chat},
                 "chat_instance": str(abs(chat["id"]) * 1_000_003), "data": data}  # fmt: skip
        return self.push_update({"callback_query": query})

    def add_to_group(self, chat: JSON, by: FakeUser) -> JSON:
        """The bot is added to a group: a my_chat_member update from "left" to "member"."""
        change = {"chat": chat, "from": by.to_dict(), "date": int(time.time()),
                  "old_chat_member": {"user": self.bot_user, "status": "left"},
                  "new_chat_member": {"user": self.bot_user, "status": "member"}}  # fmt: skip
        return self.push_update({"my_chat_member": change})

    def group_chat(self, chat_id: int, title: str = "Group", type: str = "supergroup") -> JSON:
        self._chats[chat_id] = {"id": chat_id, "type": type, "title": title}
        return self._chats[chat_id]

    def add_file(self, file_id: str, data: bytes, file_path: str | None = None) -> None:
        """Make ``file_id`` resolvable by getFile and downloadable from the file route."""
        self._files[file_id] = (file_path or f"documents/{file_id}", data)

    def post_webhooks_to(self, url: str) -> None:
        """Act as Telegram does for a bot with a webhook: POST each queued update to ``url`` (here
        in place of the registered https URL, which a reverse proxy would pass on to it) with the
        registered secret token, over up to setWebhook's ``max_connections`` (Telegram's default
        40) at once, one chat's updates one at a time and in order. A 2xx answer confirms an
        update; any other answer, or none, and it is sent again shortly."""
        self._webhook_poster = asyncio.create_task(self._post_webhooks(url), name="fake webhook poster")

    async def stop_posting_webhooks(self) -> None:
        poster, self._webhook_poster = self._webhook_poster, None
        if poster is not None:
            poster.cancel()
            await asyncio.gather(poster, return_exceptions=True)

    async def _post_webhooks(self, url: str) -> None:
        busy_chats: set[int | None] = set()

        def next_update() -> JSON | None:
            return next((u for u in self._pending if _chat_of(u) not in busy_chats), None) if self._webhook_url else None

        async def connection(session: aiohttp.ClientSession) -> None:
            while not self._closing:  # stop() wakes it: a cancel can be lost inside asyncio.wait_for (3.11)
                await self._changed.wait_for(lambda: self._closing or next_update() is not None, 3600)
                if self._closing or (update := next_update()) is None:
                    continue
                chat = _chat_of(update)
                busy_chats.add(chat)
                headers = {"X-Telegram-Bot-Api-Secret-Token": self._webhook_secret} if self._webhook_secret else {}
                try:
                    async with session.post(url, json=update, headers=headers) as response:
                        status = response.status
                except aiohttp.ClientError:
                    status = 0
                busy_chats.discard(chat)
                self.webhook_statuses.append(status)
                if 200 <= status < 300:
                    self._pending = [u for u in self._pending if u is not update]
                self._changed.notify()  # the chat is free again; may satisfy wait_until_drained
                if not 200 <= status < 300:
                    await asyncio.sleep(0.05)

        connector = aiohttp.TCPConnector(limit=self._webhook_connections)
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.gather(*(connection(session) for _ in range(self._webhook_connections)))

    # ----------------------------------------------------------------- observing
    def mark(self) -> int:
        return len(self.calls)

    def clear_calls(self) -> None:
        self.calls.clear()
        self._mark_at_last_update, self._reply_cursor = 0, {}

    def calls_to(self, method: str) -> list[Call]:
        method = self._canonical.get(method.lower(), method)
        return [call for call in self.calls if call.method == method]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """Every text or caption the bot successfully sent or edited in, in call order."""
        producing = {"sendMessage", "editMessageText", "editMessageCaption", *_MEDIA_METHODS}
        return [
            call.params["text"] if "text" in call.params else call.params["caption"]
            for call in self.calls
            if call.method in producing
            and call.failed is None
            and ("text" in call.params or "caption" in call.params)
            and (chat_id is None or call.params.get("chat_id") == chat_id)
        ]

    def last_message_to(self, chat_id: int) -> JSON:
        """The latest Message the bot sent or edited in ``chat_id``, as Telegram stores it."""
        if chat_id not in self._last_bot_message:
            raise AssertionError(f"the bot has sent no message to chat {chat_id}")
        return copy.deepcopy(self._messages[chat_id][self._last_bot_message[chat_id]])

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        timeout: float = 10.0,
        after: int = 0,
    ) -> Call:
        """The first recorded call (index >= ``after``) to ``method`` matching ``predicate``."""
        method = self._canonical.get(method.lower(), method)
        index = await self._wait_for_index(
            lambda c: c.method == method and (predicate is None or predicate(c)),
            timeout, after, f"no matching {method} call",
        )  # fmt: skip
        return self.calls[index]

    async def wait_for_reply(
        self, chat_id: int, *, timeout: float = 10.0, after: int | None = None
    ) -> Call:
        """The next successful sendMessage/editMessageText to ``chat_id``.

        By default "next" means after both the most recently injected update and the reply
        this method returned last time for that chat, so consecutive calls walk the replies.
        """
        if after is None:
            after = max(self._mark_at_last_update, self._reply_cursor.get(chat_id, 0))
        index = await self._wait_for_index(
            lambda c: c.method in ("sendMessage", "editMessageText")
            and c.failed is None
            and c.params.get("chat_id") == chat_id,
            timeout, after, f"no reply to chat {chat_id}",
        )  # fmt: skip
        self._reply_cursor[chat_id] = index + 1
        return self.calls[index]

    async def wait_for_answer(
        self, chat_id: int, *, query_id: str | None = None, after: int, timeout: float = 10.0
    ) -> Call:
        """The bot's first answer after ``after``: a message sent or edited in ``chat_id``, or an
        answer with text to the callback query ``query_id`` (an alert or a toast)."""
        index = await self._wait_for_index(
            lambda c: c.failed is None and (
                (c.method in ("sendMessage", "editMessageText") and c.params.get("chat_id") == chat_id)
                or (c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == query_id
                    and bool(c.params.get("text")))
            ),
            timeout, after, f"no answer in chat {chat_id}",
        )  # fmt: skip
        return self.calls[index]

    async def wait_for_request(self, method: str, *, timeout: float = 10.0) -> None:
        """Until a call to `method` has *arrived*; a long poll is recorded only once answered."""
        if not await self._changed.wait_for(lambda: method in self._arrived, timeout):
            raise AssertionError(f"no {method} request within {timeout}s\n{self._describe_calls(0)}")

    async def wait_until_drained(self, timeout: float = 10.0) -> None:
        """Until every queued update was fetched and then confirmed by a later offset.

        PTB's Updater confirms a batch once it sits on the Application's update queue, so
        handlers may still be running: wait for their effects with ``wait_for``/``wait_for_reply``.
        """
        if not await self._changed.wait_for(lambda: not self._pending, timeout):
            ids = [update["update_id"] for update in self._pending]
            problem = f"updates {ids} were not confirmed by getUpdates within {timeout}s"
            raise AssertionError(f"{problem}\n{self._describe_calls(0)}")

    # ----------------------------------------------------------------- failure injection
    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` (to ``chat_id`` only, if given) with an
        error; a 429 has retry_after, a group that became a supergroup migrate_to_chat_id.
        Failures queue up and are used in order."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None and status == 429:
            description = f"Too Many Requests: retry after {retry_after}"
        if description is None:
            fallback = "Internal Server Error" if status >= 500 else "Error"
            description = _DEFAULT_ERRORS.get(status, fallback)
        queue = self._failures.setdefault(self._canonical.get(method.lower(), method), deque())
        queue.extend((ApiError(status, description, retry_after, migrate_to_chat_id), chat_id) for _ in range(times))

    def hold(self, method: str, *, chat_id: int | None = None) -> Hold:
        """Leave calls to ``method`` (to ``chat_id`` only, if given) unanswered until the returned
        Hold is released, to look at the bot while it waits for Telegram."""
        held = self._holds[self._canonical.get(method.lower(), method)] = Hold(chat_id)
        return held

    def clear_failures(self) -> None:
        """Forget every failure queued by `fail_next` that has not been used."""
        self._failures.clear()

    # ----------------------------------------------------------------- HTTP layer
    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        method = self._canonical.get(method.lower(), method)
        params, uploads = await self._read_params(request)
        if method not in self._arrived:
            self._arrived.add(method)
            self._changed.notify()
        call = Call(method, params, {name: upload.data for name, upload in uploads.items()})
        if (held := self._holds.get(method)) is not None and held.chat_id in (None, params.get("chat_id")):
            await held.keep()
        try:
            failures = self._failures.get(method)
            if failures and failures[0][1] in (None, params.get("chat_id")):
                raise failures.popleft()[0]
            handler = self._handlers.get(method, lambda params, uploads: True)
            call.result = handler(params, uploads)
            if asyncio.iscoroutine(call.result):
                call.result = await call.result
        except KeyError as missing:
            call.failed = 400
            self._record(call)
            return self._error(ApiError(400, f"Bad Request: parameter {missing} is required"))
        except ApiError as error:
            call.failed = error.status
            self._record(call)
            return self._error(error)
        self._record(call)
        return web.json_response({"ok": True, "result": call.result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        for file_path, data in self._files.values():
            if file_path == request.match_info["path"]:
                return web.Response(body=data, content_type="application/octet-stream")
        return self._error(ApiError(404, "Not Found: file not found"))

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[JSON, dict[str, _Upload]]:
        raw: JSON = dict(request.query)
        uploads: dict[str, _Upload] = {}
        if request.content_type == "application/json":
            raw.update(await request.json())
        elif request.body_exists:  # form-urlencoded or multipart
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    uploads[name] = _Upload(value.filename, value.content_type, value.file.read())
                else:
                    raw[name] = value
        return {name: _decode_param(name, value) for name, value in raw.items()}, uploads

    @staticmethod
    def _error(error: ApiError) -> web.Response:
        body: JSON = {"ok": False, "error_code": error.status, "description": error.description}
        if error.retry_after is not None:
            body["parameters"] = {"retry_after": error.retry_after}
        if error.migrate_to_chat_id is not None:
            body["parameters"] = {"migrate_to_chat_id": error.migrate_to_chat_id}
        return web.json_response(body, status=error.status)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.notify()

    async def _wait_for_index(
        self, match: Callable[[Call], bool], timeout: float, after: int, problem: str
    ) -> int:
        def found() -> int | None:
            return next((i for i in range(after, len(self.calls)) if match(self.calls[i])), None)

        if not await self._changed.wait_for(lambda: found() is not None, timeout):
            raise AssertionError(f"{problem} within {timeout}s\n{self._describe_calls(after)}")
        index = found()
        assert index is not None
        return index

    def _describe_calls(self, after: int) -> str:
        lines = [f"recorded calls from #{after} ({len(self.calls)} in total):"]
        for index, call in enumerate(self.calls[after:], start=after):
            failed = f" FAILED {call.failed}" if call.failed else ""
            params = json.dumps(call.params, ensure_ascii=False, default=str)
            lines.append(f"  #{index} {call.method}{failed} {params[:300]}")
        return "\n".join(lines)

    # ----------------------------------------------------------------- chats and messages
    def _chat(self, chat_id: int | str) -> JSON:
        if isinstance(chat_id, str):  # "@channelusername"
            for chat in self._chats.values():
                if f"@{chat.get('username')}" == chat_id:
                    return chat
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._chats:
            return self._chats[chat_id]
        # Lenient on purpose: tests may message configured chats that never wrote to the bot.
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        return {"id": chat_id, "type": "supergroup", "title": "Group"}

    def _new_message_id(self, chat_id: int) -> int:
        """Message ids count up per chat, shared by the user's and the bot's messages."""
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _store(self, message: JSON) -> None:
        chat_id, message_id = message["chat"]["id"], message["message_id"]
        self._messages.setdefault(chat_id, {})[message_id] = message
        self._last_message_id[chat_id] = max(self._last_message_id.get(chat_id, 0), message_id)
        if message.get("from", {}).get("id") == self.bot_id:
            self._last_bot_message[chat_id] = message_id

    def _bot_message(self, params: JSON, **content: Any) -> JSON:
        """Create and store a Message the bot sends now; returns a copy for the response."""
        chat = self._chat(params["chat_id"])
        message = {"message_id": self._new_message_id(chat["id"]), "date": int(time.time()),
                   "chat": chat, "from": self.bot_user, **content}  # fmt: skip
        if markup := _inline_markup(params):
            message["reply_markup"] = markup
        self._store(message)
        return copy.deepcopy(message)

    # ----------------------------------------------------------------- method handlers
    def _get_me(self, params: JSON, uploads: dict[str, _Upload]) -> JSON:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON, uploads: dict[str, _Upload]) -> list[JSON]:
        if self._webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")  # fmt: skip
        if offset := int(params.get("offset") or 0):
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            self._changed.notify()  # may satisfy wait_until_drained
        timeout = float(params.get("timeout") or 0)
        await self._changed.wait_for(lambda: bool(self._pending) or self._closing, timeout)
        return copy.deepcopy(self._pending[: int(params.get("limit") or 100)])

    def _set_webhook(self, params: JSON, uploads: dict[str, _Upload]) -> bool:
        self._delete_webhook(params, uploads)
        self._webhook_url = str(params.get("url") or "")
        self._webhook_secret = str(params.get("secret_token") or "")
        self._webhook_connections = int(params.get("max_connections") or 40)
        return True

    def _delete_webhook(self, params: JSON, uploads: dict[str, _Upload]) -> bool:
        self._webhook_url = self._webhook_secret = ""
        if params.get("drop_pending_updates") is True:
            self._pending.clear()
            self._changed.notify()
        return True

    def _webhook_info(self, params: JSON, uploads: dict[str, _Upload]) -> JSON:
        return {"url": self._webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._pending)}  # fmt: skip

    def _send_message(self, params: JSON, uploads: dict[str, _Upload]) -> JSON:
        if not params.get("text"):
            raise ApiError(400, "Bad Request: message text is empty")
        _check_length(params, "text", TEXT_LIMIT)
        content: JSON = {"text": params["text"]}
        if params.get("entities"):
            content["entities"] = params["entities"]
        return self._bot_message(params, **content)

    def _send_media(self, kind: str, params: JSON, uploads: dict[str, _Upload]) -> JSON:
        """sendPhoto & co.: an uploaded file becomes downloadable under a fresh file_id."""
        _check_length(params, "caption", CAPTION_LIMIT)
        upload, sent = uploads.get(kind), params.get(kind)
        if upload is None and isinstance(sent, str) and sent in self._files:
            file_id, size = sent, len(self._files[sent][1])  # re-sending a known file_id
        else:
            file_id = f"{kind}-{next(self._ids)}-{secrets.token_hex(8)}"
            size = len(upload.data) if upload else 0
            if upload:
                self.add_file(file_id, upload.data, f"{kind}s/file_{len(self._files)}")
        media: JSON = {"file_id": file_id, "file_unique_id": file_id[-12:], "file_size": size}
        if kind in ("photo", "video", "animation"):
            media |= {"width": 800, "height": 600}
        if kind in ("video", "voice", "audio", "animation"):
            media["duration"] = int(params.get("duration") or 1)
        if upload and kind != "photo":
            media["mime_type"] = upload.content_type
            if upload.filename and kind != "voice":
                media["file_name"] = upload.filename
        content: JSON = {kind: [media] if kind == "photo" else media}
        if params.get("caption"):
            content["caption"] = params["caption"]
            if params.get("caption_entities"):
                content["caption_entities"] = params["caption_entities"]
        return self._bot_message(params, **content)

    def _edit_message(self, params: JSON, uploads: dict[str, _Upload]) -> JSON | bool:
        """editMessageText/Caption/ReplyMarkup, with Telegram's "not modified" refusal."""
        _check_length(params, "text", TEXT_LIMIT)
        _check_length(params, "caption", CAPTION_LIMIT)
        if "inline_message_id" in params:
            return True
        stored = self._messages.get(params.get("chat_id"), {}).get(params.get("message_id"))
        if stored is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if stored.get("from", {}).get("id") != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        if "text" in params and "text" not in stored:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        edited = {k: v for k, v in copy.deepcopy(stored).items() if k != "edit_date"}
        for name, entities in (("text", "entities"), ("caption", "caption_entities")):
            if name in params:
                edited[name] = params[name]
                edited.pop(entities, None)
                if params.get(entities):
                    edited[entities] = params[entities]
        edited.pop("reply_markup", None)  # a keyboard that is not re-sent disappears
        if markup := _inline_markup(params):
            edited["reply_markup"] = markup
        if edited == {k: v for k, v in stored.items() if k != "edit_date"}:
            raise ApiError(400, _NOT_MODIFIED)
        edited["edit_date"] = int(time.time())
        self._store(edited)
        return copy.deepcopy(edited)

    def _copy_message(self, params: JSON, uploads: dict[str, _Upload]) -> JSON:
        _check_length(params, "caption", CAPTION_LIMIT)
        chat_messages = self._messages.get(params["from_chat_id"], {})
        if (source := chat_messages.get(params["message_id"])) is None:
            raise ApiError(400, "Bad Request: message to copy not found")
        content = {k: copy.deepcopy(source[k]) for k in _CONTENT_FIELDS if k in source}
        if "caption" in params:
            content["caption"] = params["caption"]
        return {"message_id": self._bot_message(params, **content)["message_id"]}

    @staticmethod
    def _command_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_commands(self, params: JSON, uploads: dict[str, _Upload]) -> bool:
        if "commands" in params:
            self._commands[self._command_key(params)] = params["commands"]
        else:  # deleteMyCommands
            self._commands.pop(self._command_key(params), None)
        return True

    def _store_setting(self, name: str, key: str, params: JSON, _: dict[str, _Upload]) -> bool:
        self._settings[(name, str(params.get(key) or ""))] = params.get(name)
        return True

    def _read_setting(
        self, name: str, key: str, default: Any, params: JSON, _: dict[str, _Upload]
    ) -> Any:
        value = self._settings.get((name, str(params.get(key) or "")), default)
        return value if name == "menu_button" else {name: value}

    def _get_chat(self, params: JSON, uploads: dict[str, _Upload]) -> JSON:
        gift_types = ("unlimited_gifts", "limited_gifts", "unique_gifts",
                      "premium_subscription", "gifts_from_channels")  # fmt: skip
        return self._chat(params["chat_id"]) | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gift_types, False),
        }

    def _get_chat_member(self, params: JSON, uploads: dict[str, _Upload]) -> JSON:
        user_id = params["user_id"]
        default = {"id": user_id, "is_bot": False, "first_name": "User"}
        user = self.bot_user if user_id == self.bot_id else self._users.get(user_id, default)
        return {"status": "member", "user": user}

    def _get_file(self, params: JSON, uploads: dict[str, _Upload]) -> JSON:
        if (file_id := params.get("file_id")) not in self._files:
            raise ApiError(400, "Bad Request: invalid file_id")
        file_path, data = self._files[file_id]
        if len(data) > BOT_DOWNLOAD_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": file_id, "file_unique_id": file_id[-12:], "file_size": len(data),
                "file_path": file_path}  # fmt: skip
