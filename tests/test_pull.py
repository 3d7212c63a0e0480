"""Pulling drops from municipalities that do not push, against real servers on loopback: a
real OpenSSH sshd (Debian's openssh-server; `make test` installs it when missing) serving
SFTP, and an HTTPS server with a self-signed certificate made here with openssl. The remote
side is hostile: traversal in a manifest, a checksum that does not match, an endless
listing, an unknown host key, a wrong token, a server that stops answering."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import replace
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from pipelines.generator import generate
from pipelines.ingest.code_maps import known_municipalities
from pipelines.ingest.extract import ingest_drop
from pipelines.ingest.landing import scan_landing
from pipelines.pull import remote as remote_module
from pipelines.pull.fetch import pull_source, read_state
from pipelines.pull.sources import SourcesError, load_sources
from tests.conftest import TEST_KEY

SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """One real generated drop of 091, laid out as a municipality exports it:
    <folder>/<extract_id>/manifest.json + files."""
    root = tmp_path_factory.mktemp("export")
    (drop,) = generate(root / "gen", municipalities=["091"], start=date(2026, 8, 10), days=5,
                       seed=5)
    exports = root / "exports"
    exports.mkdir()
    shutil.copytree(drop, exports / drop.name)
    return exports


def _sources(tmp_path: Path, text: str, settings) -> dict:
    path = tmp_path / "sources.yaml"
    path.write_text(text, "utf-8")
    return load_sources(path, known_municipalities(settings.seeds))


# -- configuration ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ('sources:\n  "999":\n    url: https://x.example/a/\n', "not a municipality code"),
    ('sources:\n  "091":\n    url: ftp://x.example/a\n', "091.url: scheme must be sftp"),
    ('sources:\n  "091":\n    url: sftp://x.example/a\n    key_file_env: K\n',
     "091.url: an sftp URL needs a user"),
    ('sources:\n  "091":\n    url: sftp://u:pw@x.example/a\n    key_file_env: K\n',
     "091.url: holds a password"),
    ('sources:\n  "091":\n    url: sftp://u@x.example/a\n', "091.key_file_env: an sftp source"),
    ('sources:\n  "091":\n    url: https://x.example/a/\n    token_env: "secret token"\n',
     "091.token_env: must be the NAME"),
    ('sources:\n  "091":\n    url: https://x.example/a/\n    tokn_env: T\n',
     "091.tokn_env: unknown field"),
    ("sources: [1, 2]\n", "expected a mapping"),
    ("sources: {\n", "not valid YAML"),
])
def test_a_wrong_sources_file_names_municipality_and_field(tmp_path, settings, text, message):
    with pytest.raises(SourcesError, match=message) as error:
        _sources(tmp_path, text, settings)
    assert str(error.value).startswith("sources.yaml: ")
    assert "secret token" not in str(error.value) and "pw" not in str(error.value)


def test_no_sources_file_means_every_municipality_pushes(tmp_path, settings):
    assert load_sources(tmp_path / "absent.yaml", known_municipalities(settings.seeds)) == {}


# -- SFTP through a real sshd ----------------------------------------------------------------

@pytest.fixture(scope="module")
def sshd(tmp_path_factory, export):
    if SSHD is None:
        pytest.skip("OpenSSH's sshd is not installed (make test installs openssh-server)")
    root = tmp_path_factory.mktemp("sshd")
    os.chmod(root, 0o755)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", root / "host_key"],
                   check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", root / "client_key"],
                   check=True)
    shutil.copy(root / "client_key.pub", root / "authorized_keys")
    port = _free_port()
    user = os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name
    (root / "sshd_config").write_text(f"""
Port {port}
ListenAddress 127.0.0.1
HostKey {root / 'host_key'}
PidFile {root / 'sshd.pid'}
AuthorizedKeysFile {root / 'authorized_keys'}
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowUsers {user}
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
""")
    if os.getuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", root / "sshd_config"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        if process.poll() is not None:
            pytest.fail("sshd exited: " + process.stdout.read().decode(errors="replace"))
        time.sleep(0.2)
    host_key = (root / "host_key.pub").read_text().split()[:2]
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {' '.join(host_key)}\n")
    (root / "empty_known_hosts").write_text("")
    yield {"port": port, "user": user, "root": root, "exports": export}
    process.terminate()
    process.wait(timeout=10)


def _sftp(tmp_path, settings, sshd, monkeypatch, *, folder=None, known="known_hosts"):
    monkeypatch.setenv("ABSENCE_TEST_SFTP_KEY", str(sshd["root"] / "client_key"))
    folder = folder or sshd["exports"]
    (source,) = _sources(tmp_path, f"""
sources:
  "091":
    url: sftp://{sshd['user']}@127.0.0.1:{sshd['port']}{folder}
    key_file_env: ABSENCE_TEST_SFTP_KEY
    known_hosts: {sshd['root'] / known}
""", settings).values()
    return source


def _same_tree(a: Path, b: Path) -> bool:
    def digest(folder):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    return digest(a) == digest(b)


def test_sftp_fetches_a_complete_drop_manifest_last_and_it_loads(tmp_path, settings, sshd,
                                                                  monkeypatch):
    source = _sftp(tmp_path, settings, sshd, monkeypatch)
    result = pull_source(source, settings)
    assert result.ok, (result.error, result.failures)
    (remote_drop,) = sshd["exports"].iterdir()
    assert result.fetched == [remote_drop.name] and result.bytes > 0
    landed = settings.landing / "091" / remote_drop.name
    assert _same_tree(landed, remote_drop)
    assert not list(landed.glob("*.part"))
    # The landing sensor's unit of work takes over unchanged.
    (drop,) = scan_landing(settings.landing)
    assert ingest_drop(drop, settings, TEST_KEY.encode()).status == "loaded"
    # Next tick: nothing fetched again.
    again = pull_source(source, settings)
    assert again.ok and again.fetched == [] and again.already == 1


def test_sftp_leaves_incomplete_and_corrupt_drops_out_of_the_landing_zone(
        tmp_path, settings, sshd, monkeypatch):
    folder = tmp_path / "hostile_exports"
    (original,) = sshd["exports"].iterdir()
    # Still being written: no manifest yet.
    shutil.copytree(original, folder / "20260901T000000")
    (folder / "20260901T000000" / "manifest.json").unlink()
    # A file that does not match its checksum.
    corrupt = folder / "20260902T000000"
    shutil.copytree(original, corrupt)
    victim = next(p for p in corrupt.iterdir() if p.name != "manifest.json")
    victim.write_bytes(victim.read_bytes() + b"x")
    # A manifest that points outside its folder.
    traversal = folder / "20260903T000000"
    shutil.copytree(original, traversal)
    manifest = json.loads((traversal / "manifest.json").read_text())
    next(iter(manifest["files"].values()))["path"] = "../../../etc/passwd"
    (traversal / "manifest.json").write_text(json.dumps(manifest))
    # A remote entry whose name is no token.
    shutil.copytree(original, folder / "x y; rm -rf")
    os.chmod(tmp_path, 0o755)
    source = _sftp(tmp_path, settings, sshd, monkeypatch, folder=folder)
    result = pull_source(source, settings)
    assert result.error is None and result.fetched == []
    assert any("20260902T000000: a file does not match the SHA-256" in f
               for f in result.failures)
    assert any("20260903T000000: its manifest names a file that is not a plain file name" in f
               for f in result.failures)
    assert any("not plain tokens were skipped" in f for f in result.failures)
    assert not any("rm -rf" in f or "passwd" in f for f in result.failures)
    assert not (settings.landing / "091").exists() or not any(
        (settings.landing / "091").iterdir())
    assert read_state(settings, "091")["last_failures"] == result.failures


def test_sftp_refuses_a_server_whose_host_key_is_unknown(tmp_path, settings, sshd,
                                                         monkeypatch):
    source = _sftp(tmp_path, settings, sshd, monkeypatch, known="empty_known_hosts")
    result = pull_source(source, settings)
    assert result.error and "host key" in result.error
    assert not settings.landing.exists() or not any(settings.landing.rglob("manifest.json"))
    assert read_state(settings, "091")["last_error"] == result.error


def test_sftp_connection_refused_and_a_wrong_key_are_reported_not_raised(
        tmp_path, settings, sshd, monkeypatch):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    tmp_path / "stranger"], check=True)
    monkeypatch.setenv("ABSENCE_TEST_STRANGER_KEY", str(tmp_path / "stranger"))
    sources = _sources(tmp_path, f"""
sources:
  "091":
    url: sftp://{sshd['user']}@127.0.0.1:{_free_port()}/exports
    key_file_env: ABSENCE_TEST_STRANGER_KEY
    known_hosts: {sshd['root'] / 'known_hosts'}
  "837":
    url: sftp://{sshd['user']}@127.0.0.1:{sshd['port']}{sshd['exports']}
    key_file_env: ABSENCE_TEST_STRANGER_KEY
    known_hosts: {sshd['root'] / 'known_hosts'}
""", settings)
    refused = pull_source(sources["091"], settings)
    assert refused.error == "source unreachable (NoValidConnectionsError)"
    wrong_key = pull_source(sources["837"], settings)
    assert wrong_key.error.startswith("authentication failed")
    assert not settings.landing.exists() or not any(settings.landing.rglob("*"))


# -- HTTPS ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def https(tmp_path_factory, export):
    root = tmp_path_factory.mktemp("https")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", root / "key.pem", "-out", root / "cert.pem"],
                   check=True, capture_output=True)
    site = root / "site" / "exports"
    shutil.copytree(export, site)
    (site / "index.json").write_text(json.dumps({"drops": [p.name for p in export.iterdir()]}))
    big = root / "site" / "endless"
    big.mkdir()
    (big / "index.json").write_text(json.dumps({"drops": [f"d{n}" for n in range(20_001)]}))
    sneaky = root / "site" / "sneaky"
    shutil.copytree(export, sneaky)
    (sneaky / "index.json").write_text(json.dumps(
        {"drops": ["../exports/" + p.name for p in export.iterdir()] + ["..", "/etc"]}))
    state = {"hang": False, "cut": False}

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root / "site"), **kwargs)

        def do_GET(self):  # noqa: N802
            if self.headers.get("Authorization") != "Bearer right-token":
                self.send_error(401)
                return
            if state["hang"]:
                time.sleep(5)
            if state["cut"] and not self.path.endswith(".json"):
                # Announce the whole file, send half of it, hang up.
                data = Path(self.translate_path(self.path)).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(root / "cert.pem", root / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"port": server.server_port, "ca": root / "cert.pem", "exports": export,
           "state": state}
    server.shutdown()


def _https(tmp_path, settings, https, monkeypatch, *, folder="exports", token="right-token"):
    monkeypatch.setenv("ABSENCE_TEST_TOKEN", token)
    (source,) = _sources(tmp_path, f"""
sources:
  "091":
    url: https://127.0.0.1:{https['port']}/{folder}/
    token_env: ABSENCE_TEST_TOKEN
    ca_file: {https['ca']}
""", settings).values()
    return source


def test_https_fetches_from_an_index_with_a_bearer_token(tmp_path, settings, https,
                                                         monkeypatch):
    result = pull_source(_https(tmp_path, settings, https, monkeypatch), settings)
    assert result.ok, (result.error, result.failures)
    (remote_drop,) = https["exports"].iterdir()
    assert _same_tree(settings.landing / "091" / remote_drop.name, remote_drop)


def test_https_with_a_wrong_token_or_an_endless_listing_fetches_nothing(
        tmp_path, settings, https, monkeypatch):
    refused = pull_source(_https(tmp_path, settings, https, monkeypatch, token="wrong"),
                          settings)
    assert refused.error == "access refused (HTTP 401)"
    endless = pull_source(_https(tmp_path, settings, https, monkeypatch, folder="endless"),
                          settings)
    assert endless.error == "the listing has more than 10000 entries"
    assert not settings.landing.exists() or not any(settings.landing.rglob("*"))


def test_a_transfer_cut_mid_file_lands_nothing_and_the_retry_succeeds(
        tmp_path, settings, https, monkeypatch):
    source = _https(tmp_path, settings, https, monkeypatch)
    https["state"]["cut"] = True
    try:
        cut = pull_source(source, settings)
    finally:
        https["state"]["cut"] = False
    assert cut.fetched == [] and any("transfer failed" in f for f in cut.failures)
    assert not settings.landing.exists() or not any(settings.landing.rglob("*.*"))
    retry = pull_source(source, settings)
    assert retry.ok and len(retry.fetched) == 1


def test_a_listing_that_names_parent_paths_lands_nothing(tmp_path, settings, https,
                                                         monkeypatch):
    result = pull_source(_https(tmp_path, settings, https, monkeypatch, folder="sneaky"),
                         settings)
    assert result.fetched == [] and result.failures == [
        "3 remote entries whose names are not plain tokens were skipped"]
    assert not settings.landing.exists() or not any(settings.landing.rglob("*"))


def test_a_server_that_stops_answering_times_out_and_never_raises(tmp_path, settings, https,
                                                                  monkeypatch):
    monkeypatch.setattr(remote_module, "IO_TIMEOUT", 1.0)
    https["state"]["hang"] = True
    try:
        started = time.monotonic()
        result = pull_source(_https(tmp_path, settings, https, monkeypatch), settings)
    finally:
        https["state"]["hang"] = False
    assert result.error and "unreachable" in result.error
    assert time.monotonic() - started < 4


# -- in Dagster ----------------------------------------------------------------------------

def test_the_pull_asset_fetches_what_it_can_and_reports_each_source(
        tmp_path, settings, https, monkeypatch):
    from pipelines.defs.pull.assets import pulled_drops
    from pipelines.defs.resources import AbsenceSettings

    monkeypatch.setenv("ABSENCE_TEST_TOKEN", "right-token")
    (tmp_path / "sources.yaml").write_text(f"""
sources:
  "091":
    url: https://127.0.0.1:{https['port']}/exports/
    token_env: ABSENCE_TEST_TOKEN
    ca_file: {https['ca']}
  "837":
    url: https://127.0.0.1:{_free_port()}/nobody-listens/
""")
    settings = replace(settings, sources_file=tmp_path / "sources.yaml")
    result = dg.materialize([pulled_drops], resources={"absence": AbsenceSettings.of(settings)})
    assert result.success
    meta = {k: v.value for k, v in result.get_asset_materialization_events()[0]
            .materialization.metadata.items()}
    assert (meta["sources"], meta["fetched"], meta["failures"]) == (2, 1, 1)
    assert "| 837 |" in meta["by_source"] and "unreachable" in meta["by_source"]
    alerts = (settings.warehouse / "alerts" / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(a)["kind"] for a in alerts] == ["source_unreachable"]


# -- one night: pulled by SFTP, pulled by HTTPS, pushed -----------------------------------

def test_two_pulled_municipalities_and_a_pushing_one_are_published_in_one_night(
        tmp_path, settings, sshd, https, monkeypatch):
    from pipelines.orchestrate import run_pipeline

    # 837 exports over SFTP, 091 over HTTPS (the https fixture serves 091's export), 564
    # writes into the landing zone itself.
    generated = generate(tmp_path / "gen", municipalities=["837", "564"],
                         start=date(2026, 8, 10), days=5, seed=6)
    by_code = {d.parent.name: d for d in generated}
    sftp_exports = tmp_path / "sftp_exports"
    shutil.copytree(by_code["837"], sftp_exports / by_code["837"].name)
    shutil.copytree(by_code["564"], settings.landing / "564" / by_code["564"].name)
    os.chmod(tmp_path, 0o755)
    monkeypatch.setenv("ABSENCE_TEST_SFTP_KEY", str(sshd["root"] / "client_key"))
    monkeypatch.setenv("ABSENCE_TEST_TOKEN", "right-token")
    (tmp_path / "sources.yaml").write_text(f"""
sources:
  "837":
    url: sftp://{sshd['user']}@127.0.0.1:{sshd['port']}{sftp_exports}
    key_file_env: ABSENCE_TEST_SFTP_KEY
    known_hosts: {sshd['root'] / 'known_hosts'}
  "091":
    url: https://127.0.0.1:{https['port']}/exports/
    token_env: ABSENCE_TEST_TOKEN
    ca_file: {https['ca']}
  "564":
    url: https://127.0.0.1:{_free_port()}/gone/
""")
    settings = replace(settings, sources_file=tmp_path / "sources.yaml",
                       pseudonym_key=TEST_KEY)
    from pipelines.defs.pull.assets import pulled_drops
    from pipelines.defs.resources import AbsenceSettings

    pulled = dg.materialize([pulled_drops], resources={"absence": AbsenceSettings.of(settings)})
    assert pulled.success
    outcome = run_pipeline(settings)
    assert outcome.published
    assert sorted((e["municipality_code"], e["status"]) for e in outcome.entries) == [
        ("091", "loaded"), ("564", "loaded"), ("837", "loaded")]
    import duckdb

    with duckdb.connect(str(settings.published / "national.duckdb"), read_only=True) as con:
        ok = con.execute("select municipality_code from data_freshness where status = 'ok' "
                         "order by 1").fetchall()
        late = con.execute("select status, last_error from data_freshness "
                           "where municipality_code = '564'").fetchall()
        rates = con.execute("select count(*) from absence_rates where level = 'municipality' "
                            "and municipality_code = '564'").fetchall()
    # 564 pushed its drop (published), but the remote source it also has cannot be read now:
    # data_freshness says `late` and why.
    assert [m for (m,) in ok] == ["091", "837"] and rates[0][0] > 0
    assert late == [("late", "its remote source cannot be read: source unreachable "
                             "(ConnectionError)")]
