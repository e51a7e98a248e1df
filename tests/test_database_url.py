"""DATABASE_URL as admins write it: libpq's TLS settings (sslmode, sslrootcert) reach asyncpg and
are enforced, and what goes wrong with the database is one line, never a traceback."""

from __future__ import annotations

import datetime
import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from bot.cli import main
from storage.database import create_engine
from tests.conftest import SECRET_KEY, _postgres_admin_url
from tests.processes import CONFIG_VARS, error_lines, write_env
from tests.webhook import free_port


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err.splitlines() == error_lines(err)
    [line] = error_lines(err)
    return line


def upgrade(tmp_path: Path, database_url: str) -> int:
    env_file = write_env(tmp_path / ".env", {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY})
    return main(["--env-file", str(env_file), "db", "upgrade"])


# --- a schema from a newer release -----------------------------------------------------------

def test_an_older_release_on_a_newer_schema_says_so_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "outreach.db"
    assert upgrade(tmp_path, f"sqlite:///{database}") == 0
    with sqlite3.connect(database) as connection:  # as a later release's migration would leave it
        connection.execute("UPDATE alembic_version SET version_num = '0042_from_the_future'")
    capsys.readouterr()

    assert upgrade(tmp_path, f"sqlite:///{database}") == 2
    line = one_error(capsys)
    assert line.startswith("error: DATABASE_URL: the database at ")
    assert "newer release of outreach-bot (schema 0042_from_the_future)" in line
    assert "restore the backup" in line


# --- TLS to PostgreSQL -----------------------------------------------------------------------

@dataclass
class TlsServer:
    port: int
    ca: Path  # signed the server's certificate, for "localhost" only
    other_ca: Path  # signed nothing this server shows

    def url(self, host: str = "localhost", **query: str) -> str:
        tail = "&".join(f"{name}={value}" for name, value in query.items())
        return f"postgresql://postgres@{host}:{self.port}/postgres?{tail}"


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool, names=()) -> x509.Certificate:  # noqa: ANN001
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False), critical=True,
        )  # fmt: skip
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _postgres_binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsServer]:
    """A PostgreSQL of the test's own with ssl = on, its certificate signed by a CA made here: the
    machine's shared server has no TLS. It needs the PostgreSQL server binaries and root, to run
    them as the `postgres` user; CI (REQUIRE_POSTGRES=1) has both."""
    binaries = _postgres_binaries()
    if binaries is None or os.geteuid() != 0 or not shutil.which("runuser"):
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1, but a PostgreSQL with TLS cannot be started here (needs root and initdb)")
        pytest.skip("starting a PostgreSQL with TLS needs root and the PostgreSQL server binaries")
    postgres = pwd.getpwnam("postgres")
    # Not under pytest's temporary folder: that is root's alone, and the server runs as postgres.
    home = Path(tempfile.mkdtemp(prefix="outreach-tls-postgres-"))
    ca_key, other_key, server_key = _key(), _key(), _key()
    ca = _certificate("Test CA", ca_key, "Test CA", ca_key, ca=True)
    other_ca = _certificate("Another CA", other_key, "Another CA", other_key, ca=True)
    server = _certificate("localhost", server_key, "Test CA", ca_key, ca=False, names=[x509.DNSName("localhost")])
    (home / "ca.pem").write_bytes(_pem(ca))
    (home / "other-ca.pem").write_bytes(_pem(other_ca))
    (home / "server.pem").write_bytes(_pem(server))
    (home / "server.key").write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))  # fmt: skip
    for path in (home, *home.iterdir()):
        os.chown(path, postgres.pw_uid, postgres.pw_gid)
    (home / "server.key").chmod(0o600)  # PostgreSQL refuses a key others can read

    def as_postgres(*command: str) -> None:
        done = subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{command[0]} failed: {done.stdout}{done.stderr}"

    port = free_port()
    options = (f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c ssl=on "
               f"-c ssl_cert_file={home / 'server.pem'} -c ssl_key_file={home / 'server.key'}")  # fmt: skip
    as_postgres(str(binaries / "initdb"), "-D", str(home / "data"), "-A", "trust", "-U", "postgres")
    as_postgres(str(binaries / "pg_ctl"), "-D", str(home / "data"), "-o", options, "-l", str(home / "log"), "-w", "start")
    try:
        yield TlsServer(port, home / "ca.pem", home / "other-ca.pem")
    finally:
        as_postgres(str(binaries / "pg_ctl"), "-D", str(home / "data"), "-m", "immediate", "stop")
        shutil.rmtree(home)


@pytest.mark.postgres
async def test_verify_full_connects_over_tls_to_the_postgresql_the_ca_vouches_for(tls_server: TlsServer) -> None:
    engine = create_engine(tls_server.url(sslmode="verify-full", sslrootcert=str(tls_server.ca)).replace(
        "postgresql://", "postgresql+asyncpg://"))  # fmt: skip
    try:
        async with engine.connect() as connection:
            encrypted = await connection.scalar(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
    finally:
        await engine.dispose()
    assert encrypted is True


@pytest.mark.postgres
def test_db_upgrade_works_over_verified_tls_to_postgresql(tls_server: TlsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert upgrade(tmp_path, tls_server.url(sslmode="verify-full", sslrootcert=str(tls_server.ca))) == 0
    assert "is up to date" in capsys.readouterr().out


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("host", "ca"),
    [("localhost", "other_ca"), ("127.0.0.1", "ca")],
    ids=["a-ca-that-did-not-sign-it", "a-host-name-the-certificate-does-not-name"],
)
def test_verify_full_refuses_a_postgresql_it_cannot_verify_in_one_line(
    tls_server: TlsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], host: str, ca: str
) -> None:
    assert upgrade(tmp_path, tls_server.url(host, sslmode="verify-full", sslrootcert=str(getattr(tls_server, ca)))) == 1
    line = one_error(capsys)
    assert line.startswith("error: DATABASE_URL: cannot open the database at ")
    assert "TLS to the server failed" in line


@pytest.mark.postgres
def test_sslmode_require_refuses_a_postgresql_without_tls_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin_url = _postgres_admin_url()
    if not admin_url:
        pytest.skip("TEST_POSTGRES_URL is not set; PostgreSQL tests skipped")
    assert upgrade(tmp_path, f"{admin_url.partition('?')[0]}?sslmode=require") == 1  # the shared server has no TLS
    assert "TLS to the server failed" in one_error(capsys)


@pytest.mark.parametrize(
    ("query", "problem"),
    [("sslmode=required", "sslmode=required is not one of disable, allow, prefer, require, verify-ca, verify-full"),
     ("sslmode=verify-full&sslrootcert=/nowhere/ca.pem", "sslrootcert=/nowhere/ca.pem is not a file the bot can read")],
    ids=["unknown-sslmode", "missing-ca-file"],
)
def test_tls_settings_are_checked_with_the_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], query: str, problem: str
) -> None:
    assert upgrade(tmp_path, f"postgresql://bot@db.internal/outreach?{query}") == 2
    assert one_error(capsys) == f"error: DATABASE_URL: {problem}"

