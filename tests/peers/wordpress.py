"""A real WordPress (Debian's package) on loopback for the connector tests: MariaDB in a tmp dir, `php -S`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

WORDPRESS = Path("/usr/share/wordpress")
# Debian's wp-config.php only reads /etc/wordpress/config-<name>.php; this empty shim is picked through
# $_SERVER['WORDPRESS_CONFIG'] and every real setting comes from our auto_prepend_file, so two test runs
# (or a site configured on the machine) never share a config file.
SHIM_NAME = "townhall-peer"
SHIM = Path(f"/etc/wordpress/config-{SHIM_NAME}.php")
SHIM_TEXT = (
    "<?php\n// Townhall's WordPress test peer: its settings come from the tests' php auto_prepend_file.\n"
)
MARIADB_SQL = Path("/usr/share/mysql")
BOOTSTRAP_SQL = ("mysql_system_tables.sql", "mysql_performance_tables.sql", "mysql_system_tables_data.sql")
INSTALL_HINT = "run tests/peers/install_wordpress.sh (apt: wordpress mariadb-server php-cli php-mysql)"

PREPEND = """<?php
$_SERVER['WORDPRESS_CONFIG'] = '{shim}';
define('DB_NAME', 'wordpress'); define('DB_USER', 'root'); define('DB_PASSWORD', '');
define('DB_HOST', 'localhost:{socket}');
define('WP_CONTENT_DIR', '{content}');
define('WP_HOME', '{url}'); define('WP_SITEURL', '{url}');
define('WP_ENVIRONMENT_TYPE', 'local');  // application passwords over plain http
define('AUTOMATIC_UPDATER_DISABLED', true); define('WP_HTTP_BLOCK_EXTERNAL', true);
define('DISABLE_WP_CRON', true);
// No mail server here: the pluggable wp_mail is only defined by WordPress when nobody did before.
function wp_mail(...$args) {{ return true; }}
"""

# Test-only changes to a stock site: the 15 s flood limit would make a test wait, and anonymous REST
# comments (off by default) let a test comment as a guest the way a visitor does through the site's form.
MU_PLUGIN = """<?php
add_filter('wp_is_comment_flood', '__return_false', 99);
add_filter('rest_allow_anonymous_comments', '__return_true');
"""

SETUP = """<?php
define('WP_INSTALLING', true);
require '{wordpress}/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
wp_install('Townhall test blog', 'brand', 'brand@example.test', false, '', 'Brand-pass-123');
wp_update_user(array('ID' => 1, 'display_name' => 'Acme Brand'));
list($password) = WP_Application_Passwords::create_new_application_password(1, array('name' => 'tests'));
echo json_encode(array('brand' => $password));
"""


@dataclass
class WordPressSite:
    """The running site; `passwords` holds the application password of each user made so far, by login."""

    url: str
    passwords: dict[str, str] = field(default_factory=dict)

    def call(
        self, who: str, method: str, route: str, *, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One REST call as a user (by login) or as "guest", e.g. call("brand", "GET", "comments/5")."""
        auth = (who, self.passwords[who]) if who != "guest" else None
        # httpx replaces a URL's query with `params`, so the route travels as one of them
        query = {"rest_route": f"/wp/v2/{route}", **(params or {})}
        response = httpx.request(method, f"{self.url}/", params=query, auth=auth, timeout=20, **kwargs)
        assert response.status_code < 400, (
            f"{method} {route} as {who}: {response.status_code} {response.text[:300]}"
        )
        return response

    def make_user(self, login: str, display_name: str, role: str = "subscriber") -> str:
        """A new user with an application password (made through the REST API by the administrator)."""
        fields = {"username": login, "name": display_name, "email": f"{login}@example.test", "roles": [role]}
        user = self.call("brand", "POST", "users", json={**fields, "password": f"{login}-Pass-123"}).json()
        created = self.call(
            "brand", "POST", f"users/{user['id']}/application-passwords", json={"name": "tests"}
        )
        self.passwords[login] = created.json()["password"]
        return login


def _give_up(what: str, log: Path | None = None) -> None:
    tail = ""
    if log is not None and log.exists():
        tail = "\n--- " + log.name + " ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-25:])
    message = f"WordPress test peer: {what}{tail}"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(args: list[str], log: Path) -> subprocess.CompletedProcess[str]:
    with log.open("a") as out:
        return subprocess.run(args, stdout=subprocess.PIPE, stderr=out, text=True, timeout=60, check=False)


def _accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
        return True


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a server we started, with its whole process group (php -S leaves its workers behind otherwise)."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _check_installed() -> None:
    missing = [
        str(p)
        for p in (Path("/usr/sbin/mariadbd"), *(MARIADB_SQL / name for name in BOOTSTRAP_SQL),
                  Path("/usr/bin/php"), WORDPRESS / "wp-load.php")
        if not p.exists()
    ]  # fmt: skip
    if missing:
        _give_up(f"not installed ({', '.join(missing)} missing); {INSTALL_HINT}")
    if not SHIM.exists():
        try:
            SHIM.write_text(SHIM_TEXT)
        except OSError as exc:
            _give_up(f"{SHIM} is missing and cannot be written ({exc}); {INSTALL_HINT}")


@pytest.fixture(scope="session")
def wordpress_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WordPressSite]:
    """A fresh WordPress site with an administrator "brand" (display name "Acme Brand"), for the session."""
    _check_installed()
    root = tmp_path_factory.mktemp("wordpress")
    data, content, log = root / "db", root / "content", root / "server.log"
    (content / "mu-plugins").mkdir(parents=True)
    data.mkdir()
    # a unix socket path may not be longer than ~107 bytes, and pytest's base temp can be deep
    sock = (
        root / "mysql.sock" if len(str(root)) < 90 else Path(tempfile.mkdtemp(prefix="thwp-")) / "mysql.sock"
    )
    # mariadbd refuses to run as root unless told so; as anyone else it simply runs as that user
    user = ["--user=root"] if os.geteuid() == 0 else []
    innodb = ["--innodb-buffer-pool-size=16M", "--innodb-log-file-size=4M", "--skip-log-bin",
              "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0"]  # fmt: skip
    mariadb: subprocess.Popen[bytes] | None = None
    php: subprocess.Popen[bytes] | None = None
    try:
        started = time.monotonic()
        # What mariadb-install-db does, less the 3 MB of help tables and the sys schema: 1.5 s instead of 5
        bootstrap = "create database if not exists mysql;\nuse mysql;\nSET @auth_root_socket=NULL;\n"
        bootstrap += "".join((MARIADB_SQL / name).read_text() + "\n" for name in BOOTSTRAP_SQL)
        bootstrap += "CREATE DATABASE wordpress;\n"
        with log.open("a") as out:
            done = subprocess.run(
                ["/usr/sbin/mariadbd", "--no-defaults", *user, "--bootstrap", f"--datadir={data}",
                 "--log-warnings=0", "--enforce-storage-engine=", "--max-allowed-packet=8M", *innodb],
                input=bootstrap, text=True, stdout=out, stderr=out, timeout=60, check=False,
            )  # fmt: skip
        if done.returncode:
            _give_up("creating the MariaDB data directory failed", log)
        with log.open("a") as out:
            mariadb = subprocess.Popen(
                ["/usr/sbin/mariadbd", "--no-defaults", *user, f"--datadir={data}", f"--socket={sock}",
                 "--skip-networking", f"--pid-file={root / 'mysql.pid'}", "--skip-name-resolve", *innodb],
                stdout=out, stderr=out, start_new_session=True,
            )  # fmt: skip
        while not _accepts(sock):
            if mariadb.poll() is not None or time.monotonic() - started > 40:
                _give_up("MariaDB did not start", log)
            time.sleep(0.05)

        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        prepend = root / "prepend.php"
        prepend.write_text(PREPEND.format(shim=SHIM_NAME, socket=sock, content=content, url=url))
        (content / "mu-plugins" / "townhall-peer.php").write_text(MU_PLUGIN)
        setup = root / "setup.php"
        setup.write_text(SETUP.format(wordpress=WORDPRESS))
        php_ini = ["-d", f"auto_prepend_file={prepend}", "-d", "display_errors=stderr"]
        done = _run(["php", *php_ini, str(setup)], log)
        try:
            passwords = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            _give_up(
                f"the WordPress install script failed (exit {done.returncode}): {done.stdout[-500:]}", log
            )

        with log.open("a") as out:
            php = subprocess.Popen(
                ["php", *php_ini, "-S", f"127.0.0.1:{port}", "-t", str(WORDPRESS)],
                stdout=out, stderr=out, start_new_session=True,
                # a few workers, because WordPress makes requests to itself and one worker would stall them
                env={**os.environ, "PHP_CLI_SERVER_WORKERS": "3"},
            )  # fmt: skip
        while True:
            try:
                if httpx.get(f"{url}/?rest_route=/", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if php.poll() is not None or time.monotonic() - started > 40:
                _give_up("php -S did not serve WordPress", log)
            time.sleep(0.05)
        print(f"WordPress peer ready at {url} in {time.monotonic() - started:.1f} s")
        yield WordPressSite(url=url, passwords=passwords)
    finally:
        _stop(php)
        _stop(mariadb)
        # the log stays for a look after a failure; the 50 MB of database files need not
        shutil.rmtree(data, ignore_errors=True)
        if sock.parent != root:
            shutil.rmtree(sock.parent, ignore_errors=True)
