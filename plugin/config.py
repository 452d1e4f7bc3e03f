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
}


INTEGER_KEYS = ("XINYIPI_MAX_UPLOAD_MB", "XINYIPI_SUPERVISION_DAYS", "XINYIPI_UPLOAD_QUOTA_MB",
                "XINYIPI_UPLOAD_GRACE_HOURS")


def load(app) -> None:
    """Fill `app.config` with every XINYIPI_ key: app.config wins, then the environment, then defaults."""
    for key, default in DEFAULTS.items():
        if app.config.get(key) is None:
            value = os.environ.get(key, default)
            if key in INTEGER_KEYS and value is not None:
                value = int(value)
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
