"""bot.expiring: in-memory state about people is bounded and forgotten when stale."""

from __future__ import annotations

from bot.expiring import ExpiringMap


def test_an_entry_is_forgotten_once_its_time_has_passed() -> None:
    now = [0.0]
    memory: ExpiringMap[str, int] = ExpiringMap(60, 100, clock=lambda: now[0])
    memory["a"] = 1
    now[0] = 30
    memory["b"] = 2
    assert (memory.get("a"), memory.get("b"), len(memory)) == (1, 2, 2)
    now[0] = 60
    assert (memory.get("a"), memory.get("b"), len(memory)) == (None, 2, 1)
    now[0] = 90
    assert len(memory) == 0


def test_setting_again_restarts_the_time() -> None:
    now = [0.0]
    memory: ExpiringMap[str, int] = ExpiringMap(60, 100, clock=lambda: now[0])
    memory["a"] = 1
    now[0] = 50
    memory["a"] = 2
    now[0] = 100
    assert memory.get("a") == 2


def test_past_the_limit_the_oldest_goes_first() -> None:
    memory: ExpiringMap[int, int] = ExpiringMap(60, 3)
    for key in range(5):
        memory[key] = key
    assert len(memory) == 3
    assert [memory.get(key) for key in range(5)] == [None, None, 2, 3, 4]


def test_pop_returns_and_forgets() -> None:
    memory: ExpiringMap[str, int] = ExpiringMap(60, 3)
    memory["a"] = 1
    assert (memory.pop("a"), memory.pop("a"), len(memory)) == (1, None, 0)
