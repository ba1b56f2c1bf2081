"""Where a study lives: Optuna's RDB storage (SQLite for one worker, PostgreSQL for many),
opened safely when many workers start at once, with errors in one line and passwords masked."""

from __future__ import annotations

import contextlib
from pathlib import Path

from kerasexp.errors import UserError
from kerasexp.tuning.config import StudyConfig, StudyFile, _jsonable, make_pruner, make_sampler


def mask_url(url: str) -> str:
    """The storage URL as it may be printed: password replaced by *** (kerasexp.provenance.mask_secrets,
    the one masking function, so a URL SQLAlchemy cannot parse is masked too)."""
    from kerasexp.provenance import mask_secrets

    return mask_secrets(url)


def scrub(text: str, url: str) -> str:
    """`text` with the URL's password (if any) removed, for error messages from drivers."""
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
    except Exception:
        password = None
    from kerasexp.provenance import mask_secrets

    return mask_secrets(text.replace(str(password), "***") if password else text)


def default_storage(out_dir: Path) -> str:
    return f"sqlite:///{(out_dir / 'study.db').resolve()}"


# One key for every kerasexp study: creating Optuna's schema or a study is rare and quick.
SETUP_LOCK_KEY = 0x6B65726173657870  # "kerasexp"


@contextlib.contextmanager
def storage_errors(url: str):
    """Turn a bad URL, a missing driver or an unreachable server into a one-line UserError that
    never shows the password."""
    import sqlalchemy.exc

    try:
        yield
    except ImportError as err:  # optuna and SQLAlchemy raise or wrap a missing driver as ImportError
        name = err.name or getattr(err.__cause__, "name", None) or "psycopg"
        raise UserError(
            f"storage {mask_url(url)}: its database driver {name!r} is not installed; "
            "pip install 'kerasexp[postgres]' (psycopg)"
        ) from None
    except sqlalchemy.exc.NoSuchModuleError:  # a typo in the scheme (postgressql://)
        scheme = url.split(":", 1)[0]
        raise UserError(
            f"cannot open storage {mask_url(url)}: unknown database scheme {scheme!r}; use "
            "sqlite:///path/study.db or postgresql://user:password@host/db"
        ) from None
    except (sqlalchemy.exc.SQLAlchemyError, ValueError, OSError) as err:
        first = scrub(str(getattr(err, "orig", None) or err), url).strip().splitlines()
        raise UserError(
            f"cannot open storage {mask_url(url)}: {first[0] if first else type(err).__name__}; "
            "check that the server runs and the URL is right"
        ) from None


@contextlib.contextmanager
def setup_lock(url: str):
    """Serialise creating Optuna's tables and a study over every worker of a PostgreSQL database:
    Optuna creates its schema on first use, and workers doing that at once fail with a unique-key
    violation (optuna#1092). A session advisory lock, which PostgreSQL frees if the worker dies.
    SQLite needs none: one worker holds its file (see worker_lock)."""
    if not url.startswith("postgres"):
        yield
        return
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    engine = sqlalchemy.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": SETUP_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": SETUP_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


def worker_lock(url: str):
    """One worker per SQLite file (SQLite serialises writers, and Optuna's heartbeat and retry of a
    killed worker's trial need a server): a second worker is refused in one line that points to
    PostgreSQL. Other storages take any number of workers."""
    path = _sqlite_path(url)
    if path is None:
        return contextlib.nullcontext()
    from kerasexp.atomic import exclusive_lock

    return exclusive_lock(
        path.with_name(path.name + ".lock"),
        f"SQLite study storage {path}",
        "SQLite takes one worker: wait for it, or run several workers on PostgreSQL "
        "(--storage postgresql://user:password@host/db)",
    )


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    return Path(database).resolve() if database and database != ":memory:" else None


def _rdb_storage(url: str, cfg: StudyConfig | None):
    import warnings

    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    warnings.filterwarnings(
        "ignore", category=ExperimentalWarning
    )  # heartbeat and retry: stable enough for us
    kwargs = {}
    if cfg is not None:
        kwargs = dict(
            heartbeat_interval=cfg.heartbeat_interval,
            grace_period=cfg.grace_period,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=cfg.max_retry),
        )
    engine = {"connect_args": {"connect_timeout": 10}} if url.startswith("postgres") else {}
    if url.startswith("sqlite"):
        engine = {"connect_args": {"timeout": 60}}
    return RDBStorage(url, engine_kwargs=engine, **kwargs)


def open_storage(url: str, cfg: StudyConfig | None = None):
    """RDBStorage with heartbeat and retry of failed trials; safe while other workers create the
    schema; errors in one line."""
    with storage_errors(url), setup_lock(url):
        return _rdb_storage(url, cfg)


def open_study(spec: StudyFile, url: str, study_name: str):
    """Create the study, or join it: safe when many workers start at once on an empty database (no
    worker fails, the study is created once). Refuses a study made from another study file."""
    import optuna

    with storage_errors(url), setup_lock(url):
        storage = _rdb_storage(url, spec.study)
        study = optuna.create_study(
            study_name=study_name,
            storage=storage,
            direction=spec.study.direction,
            sampler=make_sampler(spec.study),
            pruner=make_pruner(spec.study),
            load_if_exists=True,
        )
        saved = study.user_attrs.get("study_file")
        if saved is None:
            study.set_user_attr("study_file", spec.as_dict())
    if saved is not None and saved != _jsonable(spec.as_dict()):
        raise UserError(
            f"study {study_name!r} in {mask_url(url)} was made from another study file; "
            "pass another --study-name, or the same file"
        )
    if study.direction.name.lower() != spec.study.direction:
        raise UserError(
            f"study {study_name!r} {study.direction.name.lower()}s; this file's metric "
            f"{spec.study.metric} would {spec.study.direction}"
        )
    return storage, study


def load_existing_study(storage, url: str, study_name: str):
    import optuna

    try:
        return optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise UserError(
            f"no study {study_name!r} in {mask_url(url)}; studies there: {', '.join(names) or 'none'}"
        ) from None
