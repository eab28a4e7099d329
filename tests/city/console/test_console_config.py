"""The `console:` config section and its secret file: problems named by their path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from city.config import CityConfig, CityConfigError, city_config_from_data
from city.console.server import load_secret
from testbed.console import console_config_data

URL = "postgresql://postgres@/city?host=/tmp"


def _config(tmp_path: Path, **console: object) -> CityConfig:
    data = console_config_data(URL, tmp_path / "secret")
    data["console"] = {**data["console"], **console}
    return city_config_from_data(data, source="city.yaml", base_dir=tmp_path, env={})


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    """Files are resolved from the config's folder; defaults are the documented ones."""
    config = _config(tmp_path, session_secret_file="s/secret", signing_key_file="keys/city.key")
    assert config.console.session_secret_file == (tmp_path / "s" / "secret").resolve()
    assert config.console.signing_key_file == (tmp_path / "keys" / "city.key").resolve()
    assert config.console.session_ttl_s == 8 * 3600
    assert config.console.login_limits.per_account == 5


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"port": 0}, "console.port"),
        ({"cookie_secure": "sometimes"}, "console.cookie_secure"),
        ({"session_tll_s": 60}, "console.session_tll_s"),
        ({"login_limits": {"per_account": 0}}, "console.login_limits.per_account"),
        ({"page_size": 5}, "console.page_size"),
    ],
)
def test_problems_name_their_path(tmp_path: Path, values: dict[str, object], path: str) -> None:
    """Each mistake is reported at its dotted path."""
    with pytest.raises(CityConfigError) as caught:
        _config(tmp_path, **values)
    assert any(p.path == path for p in caught.value.problems), caught.value


def test_unknown_key_suggests(tmp_path: Path) -> None:
    """A typo gets a suggestion."""
    with pytest.raises(CityConfigError, match="did you mean 'session_ttl_s'"):
        _config(tmp_path, session_tll_s=60)


def test_the_secret_file(tmp_path: Path) -> None:
    """Missing, short or absent in the config: a path-named problem; development writes one."""
    config = _config(tmp_path)
    with pytest.raises(CityConfigError, match=r"console\.session_secret_file: cannot read"):
        load_secret(config, "city.yaml")
    (tmp_path / "secret").write_text("short")
    with pytest.raises(CityConfigError, match="at least 32 random bytes"):
        load_secret(config, "city.yaml")
    none = _config(tmp_path, session_secret_file=None)
    with pytest.raises(CityConfigError, match=r"console\.session_secret_file: required"):
        load_secret(none, "city.yaml")
    dev = _config(tmp_path, session_secret_file="dev/secret", development=True)
    secret = load_secret(dev, "city.yaml")
    assert len(secret) >= 32
    assert os.stat(tmp_path / "dev" / "secret").st_mode & 0o777 == 0o600
    assert load_secret(dev, "city.yaml") == secret
