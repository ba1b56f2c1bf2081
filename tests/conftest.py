"""Shared fixtures: real Fashion-MNIST where it is installed, skipped cleanly where not."""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kerasexp.data import fashion_mnist


def fashion_dir() -> Path | None:
    for directory in fashion_mnist.candidate_dirs(os.environ.get("KERASEXP_DATA")):
        if all(fashion_mnist.find_file(directory, stem) for stem in fashion_mnist.FILES.values()):
            return directory
    return None


requires_fashion = pytest.mark.skipif(
    fashion_dir() is None,
    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist, or set KERASEXP_DATA)",
)


def _present(path: Path | None, missing: str) -> Path:
    if path is None:
        pytest.skip(missing)
    return path


@pytest.fixture(scope="session")
def fashion_path() -> Path:
    return _present(
        fashion_dir(),
        "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist, or set KERASEXP_DATA)",
    )


@pytest.fixture(scope="session")
def fashion_2000(fashion_path):
    """The first 2,000 real training images, stratified 80/20, plus the official test set."""
    return fashion_mnist.load_fashion_mnist(fashion_path, seed=0, limit=2000)


ASSETS = (
    Path(__file__).resolve().parent / "assets"
)  # real data shipped with the repository (assets/README.md)


def _shared_dir(env: str, *parts: str) -> Path | None:
    """$env, else ../shared/<parts> beside the repository; None where it is absent."""
    explicit = os.environ.get(env)
    path = (
        Path(explicit) if explicit else Path(__file__).resolve().parents[1].parent.joinpath("shared", *parts)
    )
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def pbc96_path() -> Path:
    """800 real pbc96 blood-cell images in the repository (stratified, the natural imbalance kept)."""
    return ASSETS / "pbc96_sample"


@pytest.fixture(scope="session")
def pbc96_full_path() -> Path:
    """All 17,092 pbc96 images, for tests about the whole data set."""
    return _present(
        _shared_dir("KERASEXP_PBC96", "data", "pbc96"),
        "needs all 17,092 pbc96 images, not the repository's sample: put them at "
        "../shared/data/pbc96 or set KERASEXP_PBC96",
    )


@pytest.fixture(scope="session")
def pbc96_small(pbc96_path):
    """A stratified seeded subset of 800 real blood-cell images at 96x96 (all 8 classes)."""
    from kerasexp.data.folders import load_image_folder

    return load_image_folder(pbc96_path, limit=800, seed=0)


def weights_dir() -> Path:
    """The real ImageNet MobileNet 0.25 weights file, shipped in the repository."""
    return ASSETS / "weights"


# ---------------------------------------------------------------- PostgreSQL for the multi-worker tests


def _pg_binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else shutil.which("initdb") and Path(shutil.which("initdb")).parent


@pytest.fixture(scope="session")
def pg_url():
    """A PostgreSQL URL whose role may create databases: $KERASEXP_TEST_PG_URL (.ci/run sets it), else
    a throw-away server on loopback in a temporary folder where the server binaries are installed."""
    url = os.environ.get("KERASEXP_TEST_PG_URL")
    if url:
        yield url
        return
    bin_dir = _pg_binaries()
    if bin_dir is None:
        pytest.skip(
            "no PostgreSQL: apt-get install postgresql (the tests then start their own server), "
            "or set KERASEXP_TEST_PG_URL"
        )
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="kerasexp-postgres-"))  # not under pytest's root-only tmp
    try:
        yield from _throwaway_server(bin_dir, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _throwaway_server(bin_dir: Path, folder: Path):
    """initdb + pg_ctl start in `folder`, as the `postgres` user when run as root (the server refuses
    root); stopped and removed afterwards."""
    import pwd
    import socket

    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run a throw-away server as")
        os.chown(folder, user.pw_uid, user.pw_gid)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = folder / "data"

    def run(*args):
        command = [str(bin_dir / args[0]), *args[1:]]
        kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
        return subprocess.run(command, capture_output=True, text=True, check=True, **kwargs)

    try:
        run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        run(
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(folder / "log"),
            "-w",
            "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1",
            "start",
        )
    except (subprocess.CalledProcessError, OSError) as err:
        pytest.skip(f"could not start a throw-away PostgreSQL server: {getattr(err, 'stderr', err)}")
    try:
        as_postgres = ("-h", "127.0.0.1", "-p", str(port), "-U", "postgres")
        run("psql", *as_postgres, "-q", "-c", "CREATE ROLE kerasexp LOGIN CREATEDB PASSWORD 'kerasexp'")
        run("createdb", *as_postgres, "-O", "kerasexp", "kerasexp_test")
        yield f"postgresql://kerasexp:kerasexp@127.0.0.1:{port}/kerasexp_test"
    finally:
        run("pg_ctl", "-D", str(data), "-m", "immediate", "stop")


# ---------------------------------------------------------------- what was skipped, and why


def pytest_terminal_summary(terminalreporter):
    """One line: the skipped tests grouped by reason (pytest -q would print only a count)."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons = collections.Counter(
        str(report.longrepr[2]).removeprefix("Skipped: ")
        if isinstance(report.longrepr, tuple)
        else str(report.longrepr)
        for report in skipped
    )
    terminalreporter.write_line(
        "skipped: " + "; ".join(f"{n} x {reason}" for reason, n in reasons.most_common())
    )


def refused(argv, capsys, match: str) -> str:
    """`kerasexp ARGV` refused as the CLI must refuse bad input: exit 2, one line naming `match`,
    no traceback. Returns the line."""
    from kerasexp.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert match in err, err
    return err
