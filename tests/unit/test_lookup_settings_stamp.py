"""A lookup takes its settings from the stamp of a config the model accepted, and from nowhere else.

Why: lookups skip the config model (pydantic) when the model already accepted this very file with
this very code (`bot.settings`). These tests hold the stamp to that: what it gives equals what the
model gives; any change to the file (or to paperbot's code) makes it void, so a bad config is the
same error, word for word, with or without a stamp; a missing file the user named is still an
error; and an unwritable cache only costs the model's check.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import settings
from bot.config import load_config_and_text
from bot.settings import LookupSettings, remember, stamped_settings

VALID = 'tldr_lang = "zh"\nlog_level = "WARNING"\n[logging]\nfile = "bot.log"\n'


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder


def checked(path: str, explicit: bool = True) -> LookupSettings:
    """What a command that loads the whole config does: the model checks the file, and it is stamped."""
    config, text = load_config_and_text(path, explicit=explicit)
    remember(path, config, text)
    return config.lookup_settings()


def test_the_stamp_gives_what_the_model_gives(config_file):
    path = str(config_file(VALID))
    assert stamped_settings(path, explicit=True) is None
    assert checked(path) == LookupSettings("zh", "WARNING", "bot.log", path)
    assert stamped_settings(path, explicit=True) == checked(path)


def test_a_file_changed_while_it_was_checked_is_not_stamped_with_the_settings_of_the_old_text(config_file):
    path = str(config_file(VALID))
    config, text = load_config_and_text(path, explicit=True)
    Path(path).write_text(VALID.replace('"zh"', '"en"'), encoding="utf-8")  # edited after the model read it
    remember(path, config, text)
    assert stamped_settings(path, explicit=True) is None  # the new text goes through the model


def test_a_changed_file_voids_the_stamp(config_file):
    path = config_file(VALID)
    checked(str(path))
    path.write_text(VALID.replace("zh", "en"), encoding="utf-8")
    assert stamped_settings(str(path), explicit=True) is None


def test_a_lookup_reports_a_config_broken_after_its_stamp_as_before(paperbot, config_file, tmp_path):
    path = config_file('tldr_lang = "zh"\n')  # VALID's [logging] file would be written where the test runs
    assert paperbot("topics", db=tmp_path / "p.db", env={"PAPERBOT_CONFIG": str(path)}).returncode == 0
    assert stamped_settings(str(path), explicit=True) is not None
    for text, message in [
        ("tldr_lang = 'fr'\n", "tldr_lang: Input should be 'en' or 'zh'"),
        ("colour = 'blue'\ntldr_lang = 'zh'\n", "colour: unknown key"),
    ]:
        path.write_text(text, encoding="utf-8")
        result = paperbot("topics", db=tmp_path / "p.db", env={"PAPERBOT_CONFIG": str(path)})
        assert result.returncode == 2
        assert f"error: {path}: {message}" in result.stderr


def test_other_code_voids_the_stamp(config_file, monkeypatch):
    path = str(config_file(VALID))
    checked(path)
    code = json.loads(settings._stamp_path(path).read_text(encoding="utf-8"))["code"]
    monkeypatch.setattr(settings, "_code_version", lambda: code + 1)
    assert stamped_settings(path, explicit=True) is None


def test_a_stamp_of_another_shape_is_no_stamp(config_file):
    path = str(config_file(VALID))
    checked(path)
    stamp = json.loads(settings._stamp_path(path).read_text(encoding="utf-8"))
    settings._stamp_path(path).write_text(json.dumps({**stamp, "settings": {"tldr_lang": "zh"}}), encoding="utf-8")
    assert stamped_settings(path, explicit=True) is None


def test_a_missing_file_is_stamped_as_the_defaults_but_not_when_named(tmp_path):
    missing = str(tmp_path / "nope.toml")
    defaults = checked(missing, explicit=False)
    assert defaults.tldr_lang == "en" and stamped_settings(missing, explicit=False) == defaults
    assert stamped_settings(missing, explicit=True) is None  # the model then says: file not found


def test_an_unwritable_cache_only_means_the_model_checks_every_time(config_file, tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    path = str(config_file(VALID))
    assert checked(path).tldr_lang == "zh"
    assert stamped_settings(path, explicit=True) is None


def test_a_config_with_a_prompt_file_is_not_stamped(config_file, tmp_path, cache):
    (tmp_path / "prompt.txt").write_text("{title}\n{abstract}\n{full_text}\n{language}\n", encoding="utf-8")
    path = str(config_file('[notes]\nenabled = true\nmodel = "m"\nprompt_file = "prompt.txt"\n'))
    checked(path)
    assert not cache.exists() and stamped_settings(path, explicit=True) is None
