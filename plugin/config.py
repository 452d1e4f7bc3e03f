"""Configuration keys. Every key is prefixed `XINYIPI_`, read from `app.config` or the environment."""
from __future__ import annotations

import os
import secrets

DEFAULTS = {
    "XINYIPI_DATABASE_URL": None,          # sqlite:///<instance>/xinyipi.db when unset
    "XINYIPI_SECRET_KEY": None,            # generated and kept in the instance folder when unset
    "XINYIPI_UPLOAD_DIR": None,            # <instance>/uploads when unset
    "XINYIPI_MAX_UPLOAD_MB": 20,
    "XINYIPI_UPLOAD_QUOTA_MB": 200,        # what one applicant's cases may keep in all (distinct files)
    "XINYIPI_UPLOAD_GRACE_HOURS": 24,      # unreferenced files younger than this are not swept by `tick`
    "XINYIPI_LOCALE": "zh_CN",
    "XINYIPI_TIMEZONE": "Asia/Shanghai",
    "XINYIPI_API_TOKEN": None,             # the credit platform's bearer token for archive exports (off when unset)
    "XINYIPI_SUPERVISION_DAYS": 20,        # working days to verify a commitment or carry out a drawn inspection
    "XINYIPI_SESSION_MINUTES": 30,         # idle minutes before a sign-in session ends
    # rate limits (Flask-Limiter): memory per process unless a Redis URL is given
    "XINYIPI_RATELIMIT_STORAGE_URL": None,  # e.g. redis://127.0.0.1:6379/0; memory:// when unset
    "XINYIPI_RATELIMIT_SIGN_IN": "20 per minute",   # sign-in, registration and activation POSTs per IP
    "XINYIPI_RATELIMIT_ACCOUNT": "30 per hour",     # failed sign-ins per account from unrecognised browsers
    "XINYIPI_RATELIMIT_REGISTER": "10 per hour",    # binding requests (activation codes sent) per subject code
    "XINYIPI_RATELIMIT_KEY_PREFIX": "xinyipi",
    "XINYIPI_RATELIMIT_ENABLED": True,
    "XINYIPI_ACTIVATION_MINUTES": 30,      # how long an activation code is valid
    # SMTP for messages to applicants (activation codes, binding notices); in-app/log when unset
    "XINYIPI_SMTP_HOST": None,
    "XINYIPI_SMTP_PORT": 25,
    "XINYIPI_SMTP_USER": None,
    "XINYIPI_SMTP_PASSWORD": None,
    "XINYIPI_SMTP_FROM": None,
    "XINYIPI_SMTP_STARTTLS": False,
    # OpenID Connect sign-in (统一身份认证); off unless issuer, client id and secret are set
    "XINYIPI_OIDC_ISSUER": None,
    "XINYIPI_OIDC_CLIENT_ID": None,
    "XINYIPI_OIDC_CLIENT_SECRET": None,
    "XINYIPI_OIDC_SCOPE": "openid profile",
    "XINYIPI_OIDC_CODE_CLAIM": "subject_code",       # the claim holding a citizen's 身份证号 / company's 信用代码
    "XINYIPI_OIDC_NAME_CLAIM": "name",
    "XINYIPI_OIDC_STAFF_CLAIM": "preferred_username",  # the claim holding a staff member's username
}

BOOLEANS = ("XINYIPI_RATELIMIT_ENABLED", "XINYIPI_SMTP_STARTTLS")

INTEGER_KEYS = ("XINYIPI_MAX_UPLOAD_MB", "XINYIPI_SUPERVISION_DAYS", "XINYIPI_UPLOAD_QUOTA_MB",
                "XINYIPI_UPLOAD_GRACE_HOURS", "XINYIPI_SESSION_MINUTES", "XINYIPI_ACTIVATION_MINUTES",
                "XINYIPI_SMTP_PORT")


def load(app) -> None:
    """Fill `app.config` with every XINYIPI_ key: app.config wins, then the environment, then defaults."""
    for key, default in DEFAULTS.items():
        if app.config.get(key) is None:
            value = os.environ.get(key, default)
            if key in INTEGER_KEYS and value is not None:
                value = int(value)
            elif key in BOOLEANS and isinstance(value, str):
                value = value.strip().lower() not in ("", "0", "false", "no", "off")
            app.config[key] = value
    instance = app.instance_path
    if not app.config["XINYIPI_DATABASE_URL"]:
        app.config["XINYIPI_DATABASE_URL"] = f"sqlite:///{os.path.join(instance, 'xinyipi.db')}"
    if not app.config["XINYIPI_UPLOAD_DIR"]:
        app.config["XINYIPI_UPLOAD_DIR"] = os.path.join(instance, "uploads")
    if not app.config["XINYIPI_SECRET_KEY"]:
        # a host's own SECRET_KEY serves; only a bare app gets a generated one kept in its instance folder
        app.config["XINYIPI_SECRET_KEY"] = app.config.get("SECRET_KEY") or _instance_secret(instance)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = app.config["XINYIPI_SECRET_KEY"]
    app.config.setdefault("MAX_CONTENT_LENGTH", app.config["XINYIPI_MAX_UPLOAD_MB"] * 1024 * 1024)


def _instance_secret(instance: str) -> str:
    path = os.path.join(instance, "secret_key")
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        os.makedirs(instance, exist_ok=True)
        key = secrets.token_hex(32)
        with open(path, "w") as f:
            f.write(key)
        os.chmod(path, 0o600)
        return key
