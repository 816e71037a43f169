"""Access tokens for LiveKit: mint, inspect and verify, plus where credentials come from."""

from ._credentials import (
    MIN_SECRET_LENGTH,
    Credentials,
    http_url,
    is_local_url,
    is_loopback_host,
    short_secret_allowed,
    validate_url,
    ws_url,
)
from ._explain import explain_join_error, redact_tokens
from ._grants import GRANT_NAMES, Grants
from ._inspect import TokenInfo, inspect, verify
from ._mint import DEFAULT_TTL, MAX_TTL, check_name, mint, parse_ttl
from ._profiles import (
    MAX_PROFILE_NAME,
    check_profile_name,
    config_path,
    dev_credentials,
    load_profiles,
    profile_warnings,
    remove_profile,
    resolve_credentials,
    save_profile,
)

__all__ = [
    "DEFAULT_TTL",
    "GRANT_NAMES",
    "MAX_PROFILE_NAME",
    "MAX_TTL",
    "MIN_SECRET_LENGTH",
    "Credentials",
    "Grants",
    "TokenInfo",
    "check_name",
    "check_profile_name",
    "config_path",
    "dev_credentials",
    "explain_join_error",
    "http_url",
    "inspect",
    "is_local_url",
    "is_loopback_host",
    "load_profiles",
    "mint",
    "parse_ttl",
    "profile_warnings",
    "redact_tokens",
    "remove_profile",
    "resolve_credentials",
    "save_profile",
    "short_secret_allowed",
    "validate_url",
    "verify",
    "ws_url",
]
