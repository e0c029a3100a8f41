"""The icon, tooltip and menu are pure functions of a state snapshot: checked here as plain data."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from ollama_mcp_tray.server.errors import OllamaAuthError, OllamaUnreachable
from ollama_mcp_tray.server.ollama_client import LoadedModel, ModelInfo, OllamaSnapshot
from ollama_mcp_tray.server.resident import status as rs
from ollama_mcp_tray.server.usage import UsageSummary
from ollama_mcp_tray.tray.gui import menu_model as mm
from ollama_mcp_tray.tray.gui.state import ClaudeState, IconState, ProjectRegistration, TrayState

URL = "http://127.0.0.1:11434"
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


def model(name: str, size: int = 1_900_000_000, params: str = "3.1B", quant: str = "Q4_K_M") -> ModelInfo:
    return ModelInfo(
        name=name,
        size=size,
        digest="0" * 64,
        modified_at=None,
        family="qwen2",
        parameter_size=params,
        quantization=quant,
        capabilities=("completion", "tools"),
        context_length=32768,
    )


MODELS = (*(model(f"m{i}:latest") for i in range(5)), model("qwen2.5-coder:3b"))
LOADED = LoadedModel("qwen2.5-coder:3b", 2_100_000_000, 1_800_000_000, "2025-06-01T12:04:30Z", 4096)


def up(loaded: tuple[LoadedModel, ...] = ()) -> TrayState:
    return TrayState(URL, OllamaSnapshot(URL, "0.12.3", MODELS, loaded))


def down(executable: str | None = "/usr/bin/ollama") -> TrayState:
    return TrayState(URL, OllamaSnapshot(URL, None, error=OllamaUnreachable("nope")), ollama_executable=executable)


def items(menu: tuple[mm.Entry, ...]) -> list[mm.Item]:
    return [e for e in menu if isinstance(e, mm.Item)]


def find(menu: tuple[mm.Entry, ...], prefix: str) -> mm.Item:
    matches = [i for i in items(menu) if i.text.startswith(prefix)]
    assert len(matches) == 1, [i.text for i in items(menu)]
    return matches[0]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (TrayState(URL), IconState.STARTING),
        (up(), IconState.UP),
        (up((LOADED,)), IconState.LOADED),
        (down(), IconState.DOWN),
        (dataclasses.replace(down(), starting_ollama=True), IconState.STARTING),
        (TrayState(URL, OllamaSnapshot(URL, None, error=OllamaAuthError("no", 401))), IconState.AUTH),
    ],
)
def test_the_icon_names_each_of_the_five_states(state: TrayState, expected: IconState) -> None:
    assert mm.icon_state(state) is expected


def test_the_tooltip_says_version_model_count_and_what_is_loaded() -> None:
    assert mm.tooltip(up((LOADED,))) == "Ollama 0.12 · 6 models · qwen2.5-coder:3b loaded"
    assert mm.tooltip(up()) == "Ollama 0.12 · 6 models"


def test_the_tooltip_says_down_and_auth_in_words_and_stays_short() -> None:
    assert mm.tooltip(down()) == f"Ollama is not running ({URL})"
    assert "refused the key" in mm.tooltip(TrayState(URL, OllamaSnapshot(URL, None, error=OllamaAuthError("x", 403))))
    many = tuple(LoadedModel(f"a-very-long-model-name-{i}:latest", 1, 0, None, None) for i in range(9))
    assert len(mm.tooltip(up(many))) <= mm.TOOLTIP_MAX


def test_the_status_line_shows_version_and_url_when_up() -> None:
    menu = mm.build_menu(up(), NOW)
    assert find(menu, "Ollama 0.12.3").text == f"Ollama 0.12.3 · {URL}"
    assert not find(menu, "Ollama 0.12.3").enabled
    assert not [i for i in items(menu) if i.text == "Start Ollama"]


def test_a_down_ollama_offers_start_only_when_an_executable_was_found() -> None:
    assert find(mm.build_menu(down(), NOW), "Start Ollama").action == mm.StartOllama("/usr/bin/ollama")
    missing = mm.build_menu(down(executable=None), NOW)
    assert not [i for i in items(missing) if i.text == "Start Ollama"]
    assert not find(missing, "Ollama not found").enabled


def test_an_auth_problem_offers_to_set_the_key() -> None:
    menu = mm.build_menu(TrayState(URL, OllamaSnapshot(URL, None, error=OllamaAuthError("no", 401))), NOW)
    assert find(menu, "Set Ollama key").action == mm.SetKey()


def test_a_refused_key_is_named_in_the_models_item_not_called_not_answering() -> None:
    menu = mm.build_menu(TrayState(URL, OllamaSnapshot(URL, None, error=OllamaAuthError("no", 403))), NOW)
    assert find(menu, "Models").text == "Models: the key was refused"
    assert find(mm.build_menu(down(), NOW), "Models").text == "Models: Ollama is not answering"


def test_every_installed_model_is_listed_with_size_parameters_and_quantization() -> None:
    models = find(mm.build_menu(up(), NOW), "Models (6)")
    assert models.submenu is not None
    labels = [i.text for i in items(models.submenu) if isinstance(i.action, mm.SetDefaultModel)]
    assert "qwen2.5-coder:3b · 1.9 GB · 3.1B · Q4_K_M" in labels
    assert len(labels) == 6


def test_choosing_a_model_makes_it_the_default_and_the_default_is_checked() -> None:
    state = dataclasses.replace(up(), default_model="qwen2.5-coder:3b")
    submenu = find(mm.build_menu(state, NOW), "Models").submenu
    assert submenu is not None
    choice = find(submenu, "qwen2.5-coder:3b")
    assert choice.checked is True and choice.radio
    assert choice.action == mm.SetDefaultModel("qwen2.5-coder:3b")
    assert all(i.checked is False for i in items(submenu) if i.radio and i is not choice)


def test_a_default_model_without_tag_matches_its_latest_tag() -> None:
    submenu = find(mm.build_menu(dataclasses.replace(up(), default_model="M1"), NOW), "Models").submenu
    assert submenu is not None
    assert find(submenu, "m1:latest").checked is True


def test_loaded_models_are_marked_with_memory_gpu_share_unload_time_and_can_be_unloaded() -> None:
    submenu = find(mm.build_menu(up((LOADED,)), NOW), "Models").submenu
    assert submenu is not None
    choice = find(submenu, "qwen2.5-coder:3b")
    assert choice.text.endswith(" · loaded") and choice.action == mm.SetDefaultModel("qwen2.5-coder:3b")
    assert not find(submenu, "m1:latest").text.endswith("loaded")
    unload = find(submenu, "Unload qwen2.5-coder:3b")
    assert unload.text == "Unload qwen2.5-coder:3b · 2.1 GB, 86% on GPU · unloads in 4 min"
    assert unload.action == mm.UnloadModel("qwen2.5-coder:3b")


def test_without_a_default_the_models_menu_says_none_is_chosen_and_nothing_is_checked() -> None:
    submenu = find(mm.build_menu(up(), NOW), "Models").submenu
    assert submenu is not None
    assert items(submenu)[0].text == "Default model for Claude Code: none chosen yet"
    assert not items(submenu)[0].enabled
    assert not [i for i in items(submenu) if i.checked]


def test_a_default_that_is_not_installed_is_named_with_how_to_get_it() -> None:
    submenu = find(mm.build_menu(dataclasses.replace(up(), default_model="llama9:70b"), NOW), "Models").submenu
    assert submenu is not None
    assert find(submenu, "llama9:70b").text == "llama9:70b is not installed: ollama pull llama9:70b"
    assert not [i for i in items(submenu) if i.checked]


def test_an_embedding_only_model_is_listed_but_cannot_be_the_default() -> None:
    embed = dataclasses.replace(model("nomic-embed-text:latest"), capabilities=("embedding",))
    state = TrayState(URL, OllamaSnapshot(URL, "0.12.3", (*MODELS, embed), ()))
    submenu = find(mm.build_menu(state, NOW), "Models").submenu
    assert submenu is not None
    item = find(submenu, "nomic-embed-text")
    assert item.text.endswith("embeddings only") and not item.enabled


def test_the_user_scope_item_is_a_check_item_that_toggles() -> None:
    off = find(mm.build_menu(up(), NOW), "Claude Code").submenu
    assert off is not None
    assert find(off, "Enabled for all projects").checked is False
    assert find(off, "Enabled for all projects").action == mm.SetUserScope(True)
    on_state = dataclasses.replace(up(), claude=ClaudeState(user_enabled=True))
    on = find(mm.build_menu(on_state, NOW), "Claude Code").submenu
    assert on is not None
    assert find(on, "Enabled for all projects").checked is True
    assert find(on, "Enabled for all projects").action == mm.SetUserScope(False)


def test_registered_projects_are_listed_with_a_way_to_remove_each() -> None:
    projects = (ProjectRegistration("/home/u/src/app", "project"), ProjectRegistration("/srv/x", "local", False))
    state = dataclasses.replace(up(), claude=ClaudeState(projects=projects))
    submenu = find(mm.build_menu(state, NOW, home="/home/u"), "Claude Code").submenu
    assert submenu is not None
    assert find(submenu, "~/src/app (project)").action == mm.RemoveProject("/home/u/src/app", "project")
    assert find(submenu, "/srv/x (local)").text.endswith("(needs repair)")
    assert find(submenu, "Enable for a project").action == mm.EnableProject()


def test_test_connection_is_disabled_while_a_test_runs() -> None:
    idle = find(mm.build_menu(up(), NOW), "Claude Code").submenu
    assert idle is not None
    assert find(idle, "Test connection").action == mm.CheckConnection()
    busy_menu = mm.build_menu(dataclasses.replace(up(), busy="Testing connection…"), NOW)
    busy = find(busy_menu, "Claude Code").submenu
    assert busy is not None
    assert not find(busy, "Testing connection").enabled


def test_usage_today_is_summarised_in_one_line() -> None:
    state = dataclasses.replace(up(), usage_today=UsageSummary(12, 1, 5000, 3100, 41.4))
    assert find(mm.build_menu(state, NOW), "Today").text == (
        "Today: 12 calls from Claude Code · 5.0k tokens in, 3.1k out · 41 tok/s · 1 failed"
    )
    assert mm.usage_line(up()) == "Today: no calls from Claude Code yet"
    listing_only = dataclasses.replace(up(), usage_today=UsageSummary(1, 0, 0, 0, None))
    assert mm.usage_line(listing_only) == "Today: 1 call from Claude Code"


def test_start_at_login_reflects_the_state_and_is_hidden_where_unsupported() -> None:
    menu = mm.build_menu(dataclasses.replace(up(), autostart=True), NOW)
    assert find(menu, "Start at login").checked is True
    assert find(menu, "Start at login").action == mm.SetAutostart(False)
    unsupported = mm.build_menu(dataclasses.replace(up(), autostart_supported=False), NOW)
    assert not [i for i in items(unsupported) if i.text == "Start at login"]


def test_the_menu_always_ends_with_settings_logs_and_quit() -> None:
    for state in (TrayState(URL), up(), down()):
        tail = [i.text for i in items(mm.build_menu(state, NOW))][-4:]
        assert tail == ["Settings…", "Start at login", "Open logs", "Quit"]


def test_the_windows_are_opened_from_the_menu() -> None:
    menu = mm.build_menu(down(), NOW)
    assert find(menu, "Settings…").action == mm.OpenWindow("settings")
    assert find(menu, "Manage models…").action == mm.OpenWindow("models")
    assert find(menu, "Usage…").action == mm.OpenWindow("usage")
    assert find(menu, "Getting started…").action == mm.OpenWindow("welcome")


def test_keyboard_paths_skip_hidden_disabled_items_and_separators() -> None:
    menu = mm.build_menu(up(), NOW)
    # Visible, enabled top-level items: Ollama server, Models, Claude Code, Local server, Manage models…, Usage…,
    # Getting started…, Settings…, Start at login, Open logs, Quit.
    assert mm.selectable_path(menu, "Claude Code", "Enabled for all projects") == [2, 0]
    assert mm.selectable_path(menu, "Quit") == [10]
    with pytest.raises(KeyError):
        mm.selectable_path(menu, "No such item")


def test_unload_times_read_ollama_timestamps_with_nanoseconds_and_offsets() -> None:
    assert mm.unloads_in("2025-06-01T14:02:00.123456789+02:00", NOW) == "unloads in 2 min"
    assert mm.unloads_in(None, NOW) == "unload time unknown"
    assert mm.unloads_in("garbage", NOW) == "unload time unknown"


@pytest.mark.parametrize(
    ("claude", "text"),
    [
        (ClaudeState(), "Claude Code: not enabled"),
        (ClaudeState(user_enabled=True), "Claude Code: on for all projects"),
        (
            ClaudeState(projects=(ProjectRegistration("/a", "local"), ProjectRegistration("/b", "project"))),
            "Claude Code: on in 2 projects",
        ),
        (ClaudeState(user_enabled=True, user_healthy=False), "Claude Code: needs repair"),
        (ClaudeState(projects=(ProjectRegistration("/a", "local", healthy=False),)), "Claude Code: needs repair"),
        (ClaudeState(user_enabled=True, problem="~/.claude.json does not parse"), "Claude Code: needs attention"),
    ],
)
def test_the_claude_code_item_says_where_it_is_enabled_without_opening_it(claude: ClaudeState, text: str) -> None:
    menu = mm.build_menu(dataclasses.replace(up(), claude=claude), NOW)
    assert find(menu, "Claude Code").text == text


def test_sizes_follow_the_servers_one_rule():
    from ollama_mcp_tray.server.units import human_size

    assert mm.human_size is human_size


def test_the_usage_line_shows_the_context_kept_out_of_claude_today() -> None:
    state = dataclasses.replace(up(), usage_today=UsageSummary(3, 0, 9000, 600, 40.0, kept_out_tokens=250_000))
    assert mm.usage_line(state) == (
        "Today: 3 calls from Claude Code · 9.0k tokens in, 600 out · 250.0k kept out of Claude · 40 tok/s"
    )


# ---- Connect to: every detected MCP client ------------------------------------------------------------


def test_connect_to_lists_the_detected_clients_with_check_marks_and_toggles_each() -> None:
    from ollama_mcp_tray.tray.gui.state import ClientEntry

    clients = (
        ClientEntry("claude-code", "Claude Code", "on"),
        ClientEntry("claude-desktop", "Claude Desktop", "off", restart_needed=True),
        ClientEntry("cursor", "Cursor", "stale"),
        ClientEntry("windsurf", "Windsurf", "not-installed"),
    )
    menu = mm.build_menu(dataclasses.replace(up(), clients=clients), NOW)
    connect = find(menu, "Connect to")
    assert connect.submenu is not None
    shown = items(connect.submenu)
    assert [i.text for i in shown] == [
        "Claude Code",
        "Claude Desktop (restart it to apply a change)",
        "Cursor (needs repair)",
    ]
    assert [i.checked for i in shown] == [True, False, True]
    assert [i.action for i in shown] == [
        mm.SetClient("claude-code", False),
        mm.SetClient("claude-desktop", True),
        mm.SetClient("cursor", False),
    ]


def test_a_client_whose_file_is_broken_or_holds_another_server_is_shown_but_not_clickable() -> None:
    from ollama_mcp_tray.tray.gui.state import ClientEntry

    clients = (
        ClientEntry("cursor", "Cursor", "off", problem="~/.cursor/mcp.json (line 1, column 3) is not valid"),
        ClientEntry("windsurf", "Windsurf", "foreign"),
    )
    connect = find(mm.build_menu(dataclasses.replace(up(), clients=clients), NOW), "Connect to")
    assert connect.submenu is not None
    shown = items(connect.submenu)
    assert [i.text for i in shown] == [
        "Cursor: its config file needs fixing",
        "Windsurf: another server uses our name",
    ]
    assert all(i.action is None and not i.enabled for i in shown)


def test_without_any_detected_client_connect_to_says_so() -> None:
    from ollama_mcp_tray.tray.gui.state import ClientEntry

    state = dataclasses.replace(up(), clients=(ClientEntry("cursor", "Cursor", "not-installed"),))
    item = find(mm.build_menu(state, NOW), "Connect to")
    assert item.text == "Connect to: no MCP client found" and not item.enabled


def test_each_kit_piece_and_the_claude_md_section_is_a_check_item_in_the_claude_code_menu() -> None:
    from ollama_mcp_tray.tray.clients.adoption_kit import Piece

    assert [piece for piece, _ in mm.KIT_ITEMS] == [p.value for p in Piece]
    none = find(mm.build_menu(up(), NOW), "Claude Code").submenu
    assert none is not None
    for piece, text in mm.KIT_ITEMS:
        assert find(none, text).checked is False and find(none, text).action == mm.SetKitPiece(piece, True)
    assert find(none, "Add local-model rule to CLAUDE.md").action == mm.SetClaudeMdRule(True)
    some = dataclasses.replace(up(), claude=ClaudeState(claude_md_rule=True, kit=frozenset({"skill", "bash-hook"})))
    menu = find(mm.build_menu(some, NOW), "Claude Code").submenu
    assert menu is not None
    checked = {item.text for item in items(menu) if item.checked}
    assert checked == {
        "Add local-model rule to CLAUDE.md",
        "Add delegation skill",
        "Hook: digest very long Bash output",
    }
    assert find(menu, "Hook: digest").action == mm.SetKitPiece("bash-hook", False)
    assert find(menu, "Add local-work subagent").action == mm.SetKitPiece("agent", True)


# ---- the local server (resident) ----------------------------------------------------------------------


def resident(status: rs.ResidentStatus | None, starting: bool = False) -> tuple[mm.Entry, ...]:
    return mm.build_menu(dataclasses.replace(up(), resident=status, starting_resident=starting), NOW)


@pytest.mark.parametrize(
    ("status", "starting", "line"),
    [
        (None, False, "Local server: checking…"),
        (rs.Running("/s", 7, "1.0", "1.0+a", 3, 7300), False, "Local server: resident · 3 sessions · up 2 h"),
        (
            rs.Running("/s", 7, "1.0", "1.0+a", 1, 42, retiring=True),
            False,
            "Local server: resident · 1 session · up 42 s · finishing",
        ),
        (
            rs.OtherVersion("/s", 7, "0.9", "0.9+b", 0, 60, "1.0+a"),
            False,
            "Local server: another version runs · replaced at the next session",
        ),
        (rs.NotRunning("/s", "no socket"), False, "Local server: starts with the next session"),
        (rs.NotRunning("/s", "no socket"), True, "Local server: starting…"),
        (
            rs.NotAnswering("/s", "no answer within 1 s"),
            False,
            "Local server: not answering · sessions start their own",
        ),
        (rs.Off("the setting resident is false"), False, "Local server: starts with each session"),
        (rs.Unsupported("not supported on Windows yet"), False, "Local server: starts with each session"),
    ],
)
def test_the_local_server_line_says_how_the_next_session_gets_its_server(status, starting, line) -> None:
    assert find(resident(status, starting), "Local server").text == line


def test_the_local_server_submenu_has_its_details_and_the_switch() -> None:
    item = find(resident(rs.Running("/s", 7, "1.0", "1.0+a", 3, 7300)), "Local server")
    assert item.submenu is not None
    texts = [e.text for e in item.submenu if isinstance(e, mm.Item)]
    assert texts[0] == "running (pid 7, 3 sessions, up 2 h)" and texts[1] == "pid 7 · 1.0+a"
    switch = find(item.submenu, "Keep one server running")
    assert switch.checked is True and switch.action == mm.SetResident(False)
    off = find(find(resident(rs.Off("the setting resident is false")), "Local server").submenu or (), "Keep one")
    assert off.checked is False and off.action == mm.SetResident(True)


def test_on_windows_the_local_server_offers_no_switch() -> None:
    item = find(resident(rs.Unsupported("not supported on Windows yet")), "Local server")
    assert [e.text for e in item.submenu or () if isinstance(e, mm.Item)] == [
        "not supported on Windows yet; each session starts its own server"
    ]
