"""The `kefu` command in subprocesses: piped chat and desk, kb, run, tickets, stats.

Each process loads jieba and builds the index (~1-2 s), so every command runs once per module,
the independent ones side by side, and the tests read the transcripts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from knowledge.models import FieldType, KnowledgeBase
from tests.helpers.builders import png, toml_config
from tests.helpers.fakes import shared_knowledge

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "knowledge" / "content"
TIMEOUT = 30  # seconds per process (each takes ~2 s): a hang fails instead of stalling
CATEGORY = "account/banned"


@dataclass
class Done:
    """A finished `kefu` process."""

    code: int
    out: str
    err: str


def code_under_test(env: dict[str, str]) -> dict[str, str]:
    """`env` with this checkout first on the path: run from another directory, `-m bot` would
    import whichever Kefu the virtualenv has installed (another worktree's, say)."""
    path = env.get("PYTHONPATH", "")
    return {**env, "PYTHONPATH": os.pathsep.join([str(ROOT), path] if path else [str(ROOT)])}


def kefu(*args: str, config: Path | None = None, stdin: str = "", cwd: Path) -> Done:
    """Run `python -m bot ARGS [--config FILE]` with `stdin` piped in."""
    env = code_under_test({k: v for k, v in os.environ.items() if k != "KEFU_CONFIG"})
    env.update(PYTHONIOENCODING="utf-8", LANG="C.UTF-8")
    command = [sys.executable, "-m", "bot", *args]
    if config is not None:
        command += ["--config", str(config)]
    done = subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=TIMEOUT,
        check=False,
        encoding="utf-8",
    )
    return Done(done.returncode, done.stdout, done.stderr)


def _number(labels: list[str], label: str) -> str:
    return str(labels.index(label) + 1)


def form_script(kb: KnowledgeBase, image: Path) -> tuple[list[str], list[str]]:
    """Lines that go from /start through the menu and the form to Submit (English).

    Button numbers are worked out from the content the way the menu lays it out; the
    transcript is checked afterwards to show each number pressed the intended label.
    """
    lang = "en"
    top = [c.label(lang) for c in kb.top_categories()]
    parent = kb.categories[CATEGORY.partition("/")[0]]
    children = [kb.categories[c].label(lang) for c in parent.children]
    leaf = kb.categories[CATEGORY]
    form = kb.form_for(CATEGORY)
    assert form is not None
    lines = [
        "/start",
        _number(top, parent.label(lang)),
        _number(children, leaf.label(lang)),
        str(len(kb.articles_in(CATEGORY, lang)[:8]) + 1),
    ]
    expect = [
        f"[{lines[1]}] {parent.label(lang)}",
        f"[{lines[2]}] {leaf.label(lang)}",
        f"[{lines[3]}] Fill in the form",
    ]
    answers = {
        FieldType.TEXT: "L12345678",
        FieldType.DATE: "2025-03-14",
        FieldType.LONG_TEXT: "I posted a photo of my own cat.",
    }
    for field in form.fields:
        if field.type == FieldType.IMAGES:
            lines += [f"/attach {image}", "1"]  # one screenshot, then [1] Done
            expect.append("[1] Done")
        elif field.type == FieldType.CHOICE:
            lines.append(field.choices[0].label(lang))
        else:
            lines.append(answers[field.type])
    lines.append(str(len(form.fields) + 1))
    expect.append(f"[{lines[-1]}] Submit")
    return lines, expect


KB_QUERIES = ["忘记密码", "forgot password", "退款没到账", "xyzzy plugh"]


def _story(work: Path) -> dict[str, Done]:
    """A user files a ticket by the form, a moderator answers at the desk, the user reads it;
    then the admin commands read the same database."""
    data = work / "data"
    config = toml_config(work / "kefu.toml", data)
    image = work / "screenshot.png"
    image.write_bytes(png(6, 6))
    kb, _ = shared_knowledge()
    lines, _ = form_script(kb, image)
    done = {
        "first_chat": kefu("chat", "--name", "alice", "--lang", "en", config=config, cwd=work,
                           stdin="\n".join(lines) + "\n"),
        "desk": kefu("desk", "--name", "bob", config=config, cwd=work,
                     stdin="/open 1\n/claim\nWe restored your account.\n/note checked the logs\n"),
        "second_chat": kefu("chat", "--name", "alice", "--lang", "en", config=config, cwd=work,
                            stdin="/status\n"),
        "desk_en_ticket": kefu("desk", "--name", "amy", "--lang", "en", config=config, cwd=work,
                               stdin="/open 1\n/claim\n"),
    }  # fmt: skip
    readers = {
        "export": ("tickets", "export"),
        "list": ("tickets", "list"),
        "bare": ("tickets",),
        "show": ("tickets", "show", "1"),
        "show_missing": ("tickets", "show", "99"),
        "stats": ("stats",),
    }
    with ThreadPoolExecutor(2) as pool:
        futures = {k: pool.submit(kefu, *a, config=config, cwd=work) for k, a in readers.items()}
    done.update({k: f.result() for k, f in futures.items()})
    return done


def _broken_kb(work: Path) -> Done:
    broken = work / "kb"
    (broken / "articles" / "en").mkdir(parents=True)
    (broken / "categories.toml").write_text("[[category]]\nid = 'a'\n", encoding="utf-8")
    (broken / "forms.toml").write_text("", encoding="utf-8")
    (broken / "articles" / "en" / "x.md").write_text("---\nid: x\n---\nbody\n", "utf-8")
    return kefu("kb", "check", "--kb", str(broken), cwd=work)


def _independent(work: Path) -> dict[str, Callable[[], Done]]:
    config = toml_config(work / "kefu.toml", work / "data")
    bad = work / "bad.toml"
    bad.write_text("[bot]\nreopen_dayz = 3\n", encoding="utf-8")
    return {
        "numbered": lambda: kefu("chat", "--name", "t1", "--lang", "en", config=config,
                                 cwd=work, stdin="/start\n1\n"),
        "kb_check": lambda: kefu("kb", "check", cwd=work),
        "kb_broken": lambda: _broken_kb(work),
        "kb_search": lambda: kefu("kb", "search", "--kb", str(CONTENT), "--json", "--limit", "3",
                                  "--stdin", cwd=work, stdin="\n".join(KB_QUERIES) + "\n"),
        "run": lambda: kefu("run", config=config, cwd=work),
        "no_tickets": lambda: kefu("tickets", "list", "--status", "open", config=config, cwd=work),
        "desk_en": lambda: kefu("desk", "--name", "amy", "--lang", "en", config=config,
                                cwd=work, stdin="/queue\n/claim 9\n"),
        "bad_config": lambda: kefu("stats", config=bad, cwd=work),
    }  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Done]:
    """Every command of this module, run once: the story in order, the rest alongside."""
    story = tmp_path_factory.mktemp("story")
    jobs = _independent(tmp_path_factory.mktemp("single"))
    # Two processes at a time beside the story: on a 2-core machine more only queue up.
    with ThreadPoolExecutor(1) as chain_pool, ThreadPoolExecutor(2) as pool:
        chain = chain_pool.submit(_story, story)
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        done = chain.result()
        done.update({name: f.result() for name, f in futures.items()})
    return done


def test_chat_prints_numbered_buttons_and_presses_by_number(runs: dict[str, Done]) -> None:
    done = runs["numbered"]
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert "[1] Account" in lines
    assert "Talk to a person" in {line.partition("] ")[2] for line in lines if line[:1] == "["}
    assert "Account: pick a topic" in done.out  # [1] was pressed
    numbers = [line for line in lines if line.startswith("[")]
    assert all(line.split("]")[0][1:].isdigit() for line in numbers)
    assert "Traceback" not in done.err


def test_a_scripted_conversation_ends_with_a_ticket_number(runs: dict[str, Done]) -> None:
    done = runs["first_chat"]
    assert done.code == 0, done.err
    kb, _ = shared_knowledge()
    _, expect = form_script(kb, Path("x.png"))
    for pressed in expect:
        assert pressed in done.out, pressed
    assert "Please check your answers" in done.out
    assert "Ticket #1 created" in done.out
    assert "You're number 1 in the queue" in done.out
    assert "Traceback" not in done.err


def test_the_desk_opens_claims_and_answers_the_ticket(runs: dict[str, Done]) -> None:
    done = runs["desk"]
    assert done.code == 0, done.err
    assert "#1" in done.out
    assert "L12345678" in done.out  # the form answers, in the card
    assert "files/" in done.out  # the screenshot's stored path
    assert "Traceback" not in done.err


def test_the_reply_reaches_the_user_on_the_next_chat(runs: dict[str, Done]) -> None:
    done = runs["second_chat"]
    assert done.code == 0, done.err
    assert "We restored your account." in done.out
    assert "checked the logs" not in done.out  # a note stays internal
    assert "#1" in done.out


def test_tickets_export_is_json_with_messages_and_form_answers(runs: dict[str, Done]) -> None:
    done = runs["export"]
    assert done.code == 0, done.err
    tickets = json.loads(done.out)
    assert [t["id"] for t in tickets] == [1]
    ticket = tickets[0]
    assert ticket["status"] == "claimed"
    assert any("L12345678" in answer for _label, answer in ticket["answers"])
    assert len(ticket["images"]) == 1
    authors = [(m["author"], m["text"]) for m in ticket["messages"]]
    assert ("moderator", "We restored your account.") in authors
    assert ("note", "checked the logs") in authors
    assert not any("L12345678" in text for _author, text in authors)  # answers appear once


def test_tickets_list_and_show(runs: dict[str, Done]) -> None:
    assert runs["list"].code == 0, runs["list"].err
    assert "#1" in runs["list"].out and "claimed" in runs["list"].out
    assert runs["bare"].code == 0 and runs["bare"].out == runs["list"].out  # the default
    assert runs["show"].code == 0 and "We restored your account." in runs["show"].out
    assert runs["show_missing"].code != 0 and "99" in runs["show_missing"].err


def test_the_desk_speaks_the_language_asked_for(runs: dict[str, Done]) -> None:
    done = runs["desk_en"]
    assert done.code == 0, done.err
    assert "The queue is empty." in done.out
    assert "There is no ticket #9." in done.out


def test_the_desk_in_another_language_than_the_deployments_reads_all_of_it(
    runs: dict[str, Done],
) -> None:
    """The deployment's moderators read Chinese (the default); amy's desk is English: the
    queue, a ticket's card, its buttons and what is said of her moves are English (the queue
    and the buttons were Chinese)."""
    done = runs["desk_en_ticket"]
    assert done.code == 0, done.err
    assert "Queue (1):" in done.out and "队列" not in done.out
    assert "[1] Unclaim" in done.out and "取消认领" not in done.out
    assert "#1 taken over by amy (it was bob's)." in done.out
    assert "Now: a moderator is on it." in done.out  # bob claimed it before: where it stands
    assert "system bob: claimed" in done.out and "已认领" not in done.out  # kept in Chinese
    form = shared_knowledge()[0].form_for(CATEGORY)
    assert form is not None
    typed = [f for f in form.fields if f.type != FieldType.IMAGES]
    for f in typed:  # the form's answers under English labels (they were the stored Chinese)
        assert f"• {f.label_in('en')}: " in done.out and f.label_in("zh-CN") not in done.out


def test_stats(runs: dict[str, Done]) -> None:
    done = runs["stats"]
    assert done.code == 0, done.err
    assert "queue: 1 open" in done.out
    assert "first response" in done.out


def test_kb_check_passes_on_the_bundled_content(runs: dict[str, Done]) -> None:
    done = runs["kb_check"]
    assert done.code == 0, done.out + done.err
    assert "ok" in done.out


def test_kb_check_reports_broken_content(runs: dict[str, Done]) -> None:
    done = runs["kb_broken"]
    assert done.code != 0
    assert "x.md" in done.out + done.err


def test_kb_search_json_lines(runs: dict[str, Done]) -> None:
    done = runs["kb_search"]
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert len(lines) == len(KB_QUERIES)
    for query, line in zip(KB_QUERIES, lines, strict=True):
        row = json.loads(line)
        assert set(row) == {"query", "confident", "results"}
        assert row["query"] == query
        assert isinstance(row["confident"], bool)
        assert len(row["results"]) <= 3
        for hit in row["results"]:
            assert set(hit) == {"id", "score"}
            assert 0.0 <= hit["score"] <= 1.0
    assert json.loads(lines[0])["results"][0]["id"] == "forgot-password"
    assert json.loads(lines[-1])["confident"] is False


def test_run_without_a_platform_says_how_to_enable_one(runs: dict[str, Done]) -> None:
    done = runs["run"]
    assert done.code != 0
    assert "[telegram]" in done.err and "enabled = true" in done.err
    assert "Traceback" not in done.err


def test_an_invalid_config_names_the_key(runs: dict[str, Done]) -> None:
    done = runs["bad_config"]
    assert done.code != 0
    assert "reopen_dayz" in done.err
    assert "Traceback" not in done.err


@pytest.mark.parametrize(
    ("section", "library"), [("telegram", "telegram"), ("discord", "discord")]
)
def test_run_without_the_platform_library_names_the_extra(
    tmp_path: Path, section: str, library: str
) -> None:
    """After `make chat` only the core is installed: enabling a platform says what to install."""
    settings = {
        "telegram": "moderator_chat_id = -1001",
        "discord": 'moderator_channel_id = "1"',
    }
    config = toml_config(
        tmp_path / "kefu.toml",
        tmp_path / "data",
        f"[{section}]\nenabled = true\n{settings[section]}\n",
    )
    hide = f"import sys; sys.modules[{library!r}] = None; from bot.__main__ import main; "
    env = code_under_test({k: v for k, v in os.environ.items() if k != "KEFU_CONFIG"})
    env.pop("KEFU_TELEGRAM_TOKEN", None)  # the library is missing: that is said first
    env.pop("KEFU_DISCORD_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-c", hide + f"sys.exit(main(['run', '--config', {str(config)!r}]))"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert (
        f"[{section}]" in line and f"pip install -e '.[{section}]'" in line and "make run" in line
    )


def test_kb_examples_import_then_export(tmp_path: Path) -> None:
    config = toml_config(tmp_path / "kefu.toml", tmp_path / "data")
    lines = [
        json.dumps({"query": "号没了咋整", "article": "account-hacked"}, ensure_ascii=False),
        json.dumps({"query": "whatever", "article": "no-such-article"}),
    ]
    done = kefu(
        "kb", "examples", "import", "-", config=config, stdin="\n".join(lines), cwd=tmp_path
    )
    assert done.code == 0, done.err
    assert "no-such-article" in done.err
    done = kefu("kb", "examples", "export", config=config, cwd=tmp_path)
    assert done.code == 0, done.err
    assert [json.loads(line) for line in done.out.splitlines()] == [
        {"query": "号没了咋整", "article": "account-hacked"}
    ]
    bad = kefu("kb", "examples", "import", "-", config=config, stdin="not json\n", cwd=tmp_path)
    assert bad.code == 2 and "Traceback" not in bad.err


def test_an_empty_ticket_list_says_so_aside(runs: dict[str, Done]) -> None:
    """It printed nothing at all; a script still reads an empty list."""
    done = runs["no_tickets"]
    assert done.code == 0 and done.out == ""
    assert "no tickets (open)" in done.err
