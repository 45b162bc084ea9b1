"""Config errors name the file, the key and what is wrong; defaults work with no file."""


import pytest

from bot.config import ConfigError, FileConfig, load_config, parse_config
from tests.support import SHIPPED_CONFIG


def test_shipped_config_is_valid():
    load_config(SHIPPED_CONFIG, explicit=True)


def test_missing_default_file_means_builtin_defaults(tmp_path):
    assert load_config(tmp_path / "nope.toml", explicit=False) == FileConfig()


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml: file not found"):
        load_config(tmp_path / "nope.toml", explicit=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tldr_langg = 'en'", "paperbot.toml: tldr_langg: unknown key"),
        ("tldr_lang = 'fr'", "paperbot.toml: tldr_lang: Input should be 'en' or 'zh'"),
        ("tldr_lang = ", "paperbot.toml: not valid TOML"),
        ("[[topics]]\nname = 'a'\nqeury = 'x'", "paperbot.toml: topics[0] (a).qeury: unknown key"),
        ("[[topics]]\nname = 'bad name!'", "paperbot.toml: topics[0] (bad name!).name: String should match pattern"),
        ("[[topics]]\nname = 'a'\n[[topics]]\nname = 'a'", "paperbot.toml: topics: topic names must be unique; repeated: a"),
        ("[notes]\nenabeld = true\n", "paperbot.toml: notes.enabeld: unknown key"),
        ("[notes]\nlanguage = 'fr'\n", "paperbot.toml: notes.language: Input should be 'en' or 'zh'"),
        ("[notes]\nmax_concurrency = 0\n", "paperbot.toml: notes.max_concurrency: Input should be greater than or equal to 1"),
        ("[notes]\ndaily_budget = 0\n", "paperbot.toml: notes.daily_budget: Input should be greater than or equal to 1"),
        ("[notes]\ntimeout_seconds = 0\n", "paperbot.toml: notes.timeout_seconds: Input should be greater than 0"),
        ("[notes]\nenabled = true\nmodel = '  '\n", "paperbot.toml: notes: notes are enabled but no model is named"),
        ("[notes]\napi_key = 'sk-abc'\n", "paperbot.toml: notes.api_key: unknown key"),  # the key comes from the environment only
    ],
)
def test_config_errors_name_file_key_and_problem(text, expected):
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "paperbot.toml")
    assert str(raised.value).startswith(expected)


def test_a_config_subscription_without_when_takes_the_default_when():
    config = parse_config(
        "[digest]\ndefault_when = 'daily 07:15'\n"
        "[[subscriptions]]\nadapter = 'console'\nchannel = 'c'\ntopic = 't'\n"
        "[[subscriptions]]\nadapter = 'console'\nchannel = 'c'\ntopic = 'u'\nwhen = 'mon 09:00'\n",
        "paperbot.toml",
    )
    assert [s.when for s in config.subscription_list()] == ["daily 07:15", "mon 09:00"]


def test_notes_are_off_by_default_and_the_shipped_config_keeps_them_off():
    assert FileConfig().notes.enabled is False
    shipped = load_config(SHIPPED_CONFIG, explicit=True)
    assert shipped.notes.enabled is False and shipped.notes.max_concurrency == 2
