"""Access tokens: from the environment or a secrets file only readable by its owner, never from config.toml."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from publisher.config import Config, closest, graph_url_problem
from publisher.exceptions import ConfigError, PublisherError
from publisher.ownership import cannot_read

TOKEN_VARIABLES = {"facebook": "PUBLISHER_FACEBOOK_TOKEN", "instagram": "PUBLISHER_INSTAGRAM_TOKEN"}
GRAPH_URL_VARIABLE = "PUBLISHER_GRAPH_URL"
# Every PUBLISHER_ variable publisher reads (or hands a deploy command): any other in the
# secrets file is a typo
READ_VARIABLES = frozenset(
    [*TOKEN_VARIABLES.values(), GRAPH_URL_VARIABLE, "PUBLISHER_CONFIG", "PUBLISHER_OUTPUT"]
)
DEFAULT_GRAPH_URL = "https://graph.facebook.com"


def read_secrets_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a secrets file; refused when group or others can read it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(
            f"the secrets file {path} does not exist", key="graph.secrets_file"
        ) from None
    except PermissionError:  # a folder on the way that this user may not open
        raise _unreadable(path) from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(
            f"the secrets file {path} is a folder: name the file itself", key="graph.secrets_file"
        )
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"the secrets file {path} can be read by other users (mode {stat.filemode(info.st_mode)}): "
            f"run  chmod 600 {path}",
            key="graph.secrets_file",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise ConfigError(
            f"the secrets file {path} is a folder: name the file itself",
            key="graph.secrets_file",
        ) from None
    except PermissionError:
        raise _unreadable(path) from None
    except OSError as exc:
        raise ConfigError(
            f"the secrets file {path} cannot be read ({exc.strerror})", key="graph.secrets_file"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"the secrets file {path} is not UTF-8 text: write it again as NAME=value lines",
            key="graph.secrets_file",
        ) from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        # (the line itself is never said: it may hold a token)
        if not equals:
            raise ConfigError(
                f"line {number} of the secrets file {path} is not NAME=value: write it as  "
                "PUBLISHER_FACEBOOK_TOKEN=the-token  (an = between, no spaces, no colon)",
                key="graph.secrets_file",
            )
        if key.startswith("PUBLISHER_") and key not in READ_VARIABLES:
            meant = closest(key, TOKEN_VARIABLES.values())
            raise ConfigError(
                f"line {number} of the secrets file {path} names {key}, which publisher does "
                "not read" + (f": did you mean {meant}?" if meant else ""),
                key="graph.secrets_file",
            )
        values[key] = value.strip().strip("'\"")
    return values


def _unreadable(path: Path) -> ConfigError:
    """The secrets file this user may not read: whose it is, and the command that mends it."""
    advice = cannot_read(path) or "make it the service user's (chown), with chmod 600"
    return ConfigError(
        f"the secrets file {path} cannot be read: {advice}", key="graph.secrets_file"
    )


def find_token(
    channel: str, config: Config, environ: dict[str, str] | None = None
) -> tuple[str, str, str] | None:
    """(token, variable, where) for `channel`: the environment wins over the secrets file,
    and Instagram falls back to the Facebook Page token."""
    env = os.environ if environ is None else environ
    sources: list[tuple[str, dict[str, str] | os._Environ[str]]] = [("the environment", env)]
    if config.graph.secrets_file:
        file = config.graph.secrets_file
        sources.append((file, read_secrets_file(config.folder(file))))
    names = [TOKEN_VARIABLES[channel]]
    if channel == "instagram":
        names.append(TOKEN_VARIABLES["facebook"])
    for name in names:
        for where, source in sources:
            value = source.get(name, "").strip()
            if value:
                return value, name, where
    return None


def token_source(channel: str, config: Config, environ: dict[str, str] | None = None) -> str:
    """Where the token find_token() gives for `channel` comes from, in words: which
    variable, and whether from the environment (which wins) or the secrets file."""
    found = find_token(channel, config, environ)
    if found is None:
        return "none"
    _, name, where = found
    own = TOKEN_VARIABLES[channel]
    fallback = f" (the Facebook token: {own} is not set)" if name != own else ""
    also = ""
    if where == "the environment" and config.graph.secrets_file:
        kept = read_secrets_file(config.folder(config.graph.secrets_file))
        also = " (it wins over the secrets file's)" if kept.get(name, "").strip() else ""
    return f"{name}{fallback}, from {where}{also}"


def missing_token(channel: str, config: Config) -> str:
    """Why a channel whose account config.toml names cannot send from this process, and what
    to do: its token is not in this process's environment (nor the secrets file)."""
    account = "Page" if channel == "facebook" else "account"
    name = TOKEN_VARIABLES[channel]
    if channel == "instagram":  # (the Page's token serves Instagram too)
        name += f" (nor {TOKEN_VARIABLES['facebook']}, which Instagram uses without its own)"
    where = (
        f"in the secrets file {config.graph.secrets_file} ([graph] secrets_file) or in the "
        "environment"
        if config.graph.secrets_file
        else "in the environment file the service and cron read, or, by hand, run publisher "
        "with that file read (README, Tokens)"
    )
    return (
        f"no token: {name} is not set where publisher runs now, though config.toml names the "
        f"{account}: its deliveries wait for a pass that has it. Set it {where}"
    )


def known_tokens(config: Config) -> list[str]:
    """Every token value publisher could use (the environment's and the secrets file's),
    to keep out of anything it writes down; a secrets file that cannot be read adds none."""
    values = [os.environ.get(name, "") for name in TOKEN_VARIABLES.values()]
    if config.graph.secrets_file:
        try:
            kept = read_secrets_file(config.folder(config.graph.secrets_file))
        except ConfigError:
            kept = {}
        values += [kept.get(name, "") for name in TOKEN_VARIABLES.values()]
    return [value.strip() for value in values if value.strip()]


def graph_url(config: Config, environ: dict[str, str] | None = None) -> str:
    """Where the Graph API is: $PUBLISHER_GRAPH_URL, else [graph] url, else Meta's."""
    env = os.environ if environ is None else environ
    if value := env.get(GRAPH_URL_VARIABLE, "").strip():
        if problem := graph_url_problem(value):
            raise PublisherError(f"${GRAPH_URL_VARIABLE} {problem}")
    return (value or config.graph.url or DEFAULT_GRAPH_URL).rstrip("/")


def graph_client(config: Config, channel: str, token: str, variable: str) -> Any:
    """A Graph API client of `channel` with `token` (read from `variable`), as config.toml says."""
    from publisher.graph import GraphClient

    return GraphClient(
        token=token,
        channel=channel,
        base_url=graph_url(config),
        version=config.graph.version,
        timeout=config.graph.timeout,
        token_variable=variable,
    )
