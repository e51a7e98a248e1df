"""The fake Bot API server must satisfy the real python-telegram-bot client over real HTTP."""

from __future__ import annotations

import datetime as dtm
from collections.abc import AsyncIterator

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fake_telegram import FakeTelegram, FakeUser

ALICE = FakeUser(id=1001, first_name="Alice", username="alice", language_code="uk")
YES = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="vote:yes")]])


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def client(tg: FakeTelegram) -> AsyncIterator[Bot]:
    """A bare PTB ``Bot`` pointed at the fake."""
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
        yield bot


async def test_get_me_describes_the_bot(tg: FakeTelegram, client: Bot) -> None:
    me = await client.get_me()
    assert (me.id, me.username, me.is_bot) == (tg.bot_id, "fake_test_bot", True)
    assert me.can_join_groups is True
    assert [call.method for call in tg.calls] == ["getMe", "getMe"]  # initialize() + ours


async def test_unknown_token_is_unauthorized(tg: FakeTelegram) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server") as excinfo:
        async with Bot("42:AAH" + "x" * 32, base_url=tg.base_url):
            pass  # pragma: no cover - initialize() must fail
    assert str(excinfo.value.__cause__) == "Unauthorized"
    assert tg.calls == []


async def test_send_and_edit_message_with_inline_keyboard(tg: FakeTelegram, client: Bot) -> None:
    sent = await client.send_message(ALICE.id, "Привіт 👋", reply_markup=YES)

    call = tg.calls_to("sendMessage")[0]
    assert call.params["chat_id"] == ALICE.id
    assert call.params["text"] == "Привіт 👋"
    keyboard = {"inline_keyboard": [[{"text": "Yes", "callback_data": "vote:yes"}]]}
    assert call.params["reply_markup"] == keyboard
    assert (sent.message_id, sent.chat.id, sent.chat.type) == (1, ALICE.id, "private")
    assert sent.from_user is not None and sent.from_user.id == tg.bot_id
    assert sent.reply_markup == YES

    edited = await client.edit_message_text("Thanks!", ALICE.id, sent.message_id)
    assert isinstance(edited, Message)
    assert (edited.message_id, edited.text, edited.reply_markup) == (1, "Thanks!", None)
    assert tg.last_message_to(ALICE.id)["text"] == "Thanks!"
    assert tg.texts(ALICE.id) == ["Привіт 👋", "Thanks!"]

    with pytest.raises(BadRequest, match="Message is not modified"):
        await client.edit_message_text("Thanks!", ALICE.id, sent.message_id)
    assert tg.calls[-1].failed == 400


async def test_commands_are_stored_per_scope_and_language(tg: FakeTelegram, client: Bot) -> None:
    scope = BotCommandScopeChat(ALICE.id)
    commands = [BotCommand("start", "Почати"), BotCommand("help", "Допомога")]
    assert await client.set_my_commands(commands, scope=scope, language_code="uk") is True

    params = tg.calls_to("setMyCommands")[0].params
    assert params["scope"] == {"type": "chat", "chat_id": ALICE.id}
    assert params["commands"][0] == {"command": "start", "description": "Почати"}
    assert await client.get_my_commands(scope=scope, language_code="uk") == tuple(commands)
    assert await client.get_my_commands(scope=scope) == ()
    assert await client.get_my_commands(language_code="uk") == ()


async def test_get_updates_delivers_an_injected_command(tg: FakeTelegram, client: Bot) -> None:
    injected = tg.send_text(ALICE, "/start@fake_test_bot ref42")

    (update,) = await client.get_updates(timeout=1)
    assert update.update_id == injected["update_id"]
    message = update.message
    assert message is not None and message.text == "/start@fake_test_bot ref42"
    assert list(message.parse_entities().values()) == ["/start@fake_test_bot"]
    assert message.entities[0].type == "bot_command"
    assert message.from_user is not None and message.from_user.language_code == "uk"
    raw = Update.de_json(tg.calls[-1].result[0], client)
    assert raw.effective_chat is not None and raw.effective_chat.id == ALICE.id

    # Confirming through the offset drops the update; the empty poll returns at its timeout.
    assert await client.get_updates(offset=update.update_id + 1, timeout=0) == ()
    await tg.wait_until_drained(timeout=1)


async def test_rate_limit_raises_retry_after(
    tg: FakeTelegram, client: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB's non-deprecated type for retry_after
    tg.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as excinfo:
        await client.send_message(ALICE.id, "hi")
    assert excinfo.value.retry_after == dtm.timedelta(seconds=7)
    assert tg.calls[-1].failed == 429

    await client.send_message(ALICE.id, "hi again")  # only the next call failed
    assert tg.texts() == ["hi again"]


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (403, Forbidden, "bot was blocked by the user"),
        (500, NetworkError, "Internal Server Error"),
        (502, NetworkError, "Bad Gateway"),
    ],
)
async def test_http_errors_map_to_ptb_exceptions(
    tg: FakeTelegram, client: Bot, status: int, error: type[Exception], text: str
) -> None:
    tg.fail_next("sendMessage", status=status)
    with pytest.raises(error, match=text) as excinfo:
        await client.send_message(ALICE.id, "hi")
    assert type(excinfo.value) is error
    assert [call.failed for call in tg.calls_to("sendMessage")] == [status]


async def test_get_file_and_download(tg: FakeTelegram, client: Bot) -> None:
    tg.add_file("doc-1", b"%PDF-1.7 fake", file_path="documents/file_1.pdf")
    file = await client.get_file("doc-1")
    assert (file.file_id, file.file_size) == ("doc-1", 13)
    assert await file.download_as_bytearray() == bytearray(b"%PDF-1.7 fake")


async def test_uploaded_photo_is_recorded_and_downloadable(tg: FakeTelegram, client: Bot) -> None:
    message = await client.send_photo(ALICE.id, photo=b"\x89PNG fake", caption="look")
    call = tg.calls_to("sendPhoto")[0]
    assert call.files == {"photo": b"\x89PNG fake"} and call.params["caption"] == "look"
    assert message.caption == "look" and tg.texts() == ["look"]
    file = await client.get_file(message.photo[-1].file_id)
    assert await file.download_as_bytearray() == bytearray(b"\x89PNG fake")


async def test_real_application_answers_a_command_and_a_button(tg: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        assert update.message is not None and user is not None
        text = f"Hello, {user.first_name} ({user.language_code})"
        await update.message.reply_text(text, reply_markup=YES)

    async def vote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"You chose {query.data}")

    app = (
        ApplicationBuilder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(vote))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            tg.send_text(ALICE, "/start")
            greeting = await tg.wait_for_reply(ALICE.id)
            tg.press_button(ALICE, tg.last_message_to(ALICE.id), "vote:yes")
            edit = await tg.wait_for_reply(ALICE.id)
            await tg.wait_until_drained()
        finally:
            await app.updater.stop()
            await app.stop()

    assert greeting.params["text"] == "Hello, Alice (uk)"
    assert greeting.result["from"]["id"] == tg.bot_id
    assert edit.method == "editMessageText"
    assert edit.params["message_id"] == greeting.result["message_id"]
    assert tg.last_message_to(ALICE.id)["text"] == "You chose vote:yes"
    assert "reply_markup" not in tg.last_message_to(ALICE.id)  # the keyboard was not re-sent
    assert len(tg.calls_to("answerCallbackQuery")) == 1
    assert tg.calls_to("deleteWebhook"), "the Updater bootstraps by deleting the webhook"
