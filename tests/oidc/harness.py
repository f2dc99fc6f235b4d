"""Starts the real OpenID Provider of tests/oidc (oidc-provider on Node) for a test run."""

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tests.helpers import free_port

HERE = Path(__file__).resolve().parent
CLIENT_ID = "northstar-test"
CLIENT_SECRET = "northstar-test-secret-0123456789abcdef"


@dataclass
class Provider:
    issuer: str
    accounts_file: Path
    log_file: Path

    def set_accounts(self, accounts: dict[str, dict]) -> None:
        """The provider reads this file at every sign-in: a change applies to the next one."""
        tmp = self.accounts_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(accounts))
        tmp.replace(self.accounts_file)

    def set_groups(self, login: str, groups: list[str]) -> None:
        accounts = json.loads(self.accounts_file.read_text())
        accounts[login]["groups"] = groups
        self.set_accounts(accounts)


@contextmanager
def running_provider(tmp: Path, *, redirect_uris: list[str], post_logout_redirect_uris: list[str],
                     accounts: dict[str, dict]) -> Iterator[Provider]:
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError("the test OpenID Provider is not installed: run scripts/test.sh "
                           "(or `npm ci` in tests/oidc)")
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node.js is required for the single sign-on tests")
    port = free_port()
    provider = Provider(issuer=f"http://127.0.0.1:{port}", accounts_file=tmp / "accounts.json",
                        log_file=tmp / "provider.log")
    provider.set_accounts(accounts)
    args = [node, str(HERE / "provider.mjs"), "--port", str(port), "--client-id", CLIENT_ID,
            "--client-secret", CLIENT_SECRET, "--accounts", str(provider.accounts_file)]
    for uri in redirect_uris:
        args += ["--redirect-uri", uri]
    for uri in post_logout_redirect_uris:
        args += ["--post-logout-redirect-uri", uri]
    log = provider.log_file.open("w")
    process = subprocess.Popen(args, cwd=HERE, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "ready <issuer>", or nothing when it died
        if not line.startswith("ready "):
            process.kill()
            raise RuntimeError(f"the OpenID Provider did not start; see {provider.log_file}")
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
