"""A lookup takes its settings from the stamp of a config the model accepted, and from nowhere else.

Why: lookups skip the config model (pydantic) when the model already accepted this very file with
this very code (`bot.settings`). These tests hold the stamp to that: what it gives equals what the
model gives; any change to the file (or to paperbot's code) sends it back to the model, so a bad
config is the same error, word for word, with or without a stamp; a missing file the user named is
still an error; and an unwritable cache only costs the model's check.
"""

from __future__ import annotations

import json

import pytest

from bot import settings
from bot.config import ConfigError, load_config
from bot.settings import LookupSettings, lookup_settings, remember

VALID = 'tldr_lang = "zh"\nlog_level = "WARNING"\n[logging]\nfile = "bot.log"\n'


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder


def test_the_stamp_gives_what_the_model_gives(config_file, cache):
    path = str(config_file(VALID))
    from_model = lookup_settings(path, explicit=True)
    assert list(cache.glob("paperbot/config-*.json"))  # stamped
    assert lookup_settings(path, explicit=True) == from_model == load_config(path, explicit=True).lookup_settings()
    assert from_model == LookupSettings("zh", "WARNING", "bot.log", path)


def test_a_changed_file_is_checked_again_and_its_error_is_the_models(config_file):
    path = config_file(VALID)
    lookup_settings(str(path), explicit=True)
    path.write_text("colour = 'blue'\n" + VALID, encoding="utf-8")
    with pytest.raises(ConfigError) as from_lookup:
        lookup_settings(str(path), explicit=True)
    with pytest.raises(ConfigError) as from_model:
        load_config(path, explicit=True)
    assert str(from_lookup.value) == str(from_model.value) == f"{path}: colour: unknown key"


def test_a_lookup_reports_a_config_broken_after_its_stamp(paperbot, config_file, tmp_path):
    path = config_file(VALID)
    assert paperbot("topics", db=tmp_path / "p.db", env={"PAPERBOT_CONFIG": str(path)}).returncode == 0
    path.write_text("tldr_lang = 'fr'\n", encoding="utf-8")
    result = paperbot("topics", db=tmp_path / "p.db", env={"PAPERBOT_CONFIG": str(path)})
    assert result.returncode == 2
    assert f"error: {path}: tldr_lang: Input should be 'en' or 'zh'" in result.stderr


def test_other_code_makes_the_stamp_stale(config_file, monkeypatch):
    path = str(config_file(VALID))
    lookup_settings(path, explicit=True)
    stamp = settings._read_stamp(path)
    assert stamp["settings"]["tldr_lang"] == "zh"
    # The same text stamped with other settings by other code: the model is asked again.
    stamp["settings"]["tldr_lang"] = "en"
    settings._stamp_path(path).write_text(json.dumps(stamp), encoding="utf-8")
    monkeypatch.setattr(settings, "_code_version", lambda: stamp["code"] + 1)
    assert lookup_settings(path, explicit=True).tldr_lang == "zh"


def test_a_missing_file_is_stamped_as_the_defaults_but_is_an_error_when_named(tmp_path):
    missing = str(tmp_path / "nope.toml")
    assert lookup_settings(missing, explicit=False) == lookup_settings(missing, explicit=False)
    assert lookup_settings(missing, explicit=False).tldr_lang == "en"
    with pytest.raises(ConfigError, match="nope.toml: file not found"):
        lookup_settings(missing, explicit=True)


def test_an_unwritable_cache_only_means_the_model_checks_every_time(config_file, tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    path = str(config_file(VALID))
    expected = load_config(path, explicit=True).lookup_settings()
    assert lookup_settings(path, explicit=True) == lookup_settings(path, explicit=True) == expected


def test_a_config_with_a_prompt_file_is_not_stamped(config_file, tmp_path, cache):
    (tmp_path / "prompt.txt").write_text("{title}\n{abstract}\n{full_text}\n{language}\n", encoding="utf-8")
    path = str(config_file('[notes]\nenabled = true\nmodel = "m"\nprompt_file = "prompt.txt"\n'))
    remember(path, load_config(path, explicit=True))
    assert not cache.exists()
