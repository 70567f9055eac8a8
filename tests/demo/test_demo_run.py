"""``make run``'s demo (``python -m demo.run``) and the mobile example against it, over real HTTP."""

import json
import signal
import time

import pytest

from examples import mobile_flow
from tests.demo.harness import child_pids, get, is_running, run_demo
from tests.e2e.provider import new_session

pytestmark = pytest.mark.e2e

EXIT_TIMEOUT_SECONDS = 30.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with run_demo(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.fixture
def demo_state(demo):
    return json.loads((demo.state_dir / "demo.json").read_text())


def test_demo_lists_the_demo_provider(demo):
    response = get(demo.api_url + "providers/")

    assert response.status_code == 200
    assert response.json() == [{"name": "demo", "display_name": "Demo provider", "protocol": "oidc",
                                "scope": ["openid", "profile", "email"], "client_id": "allaccess-demo"}]


def test_demo_serves_the_spa(demo):
    response = get(demo.app_url)

    assert response.status_code == 200
    assert '<script src="/spa/app.js" defer></script>' in response.text
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_demo_state_file_is_private(demo):
    mode = (demo.state_dir / "demo.json").stat().st_mode & 0o777

    assert mode == 0o600


def test_mobile_flow_signs_in(demo, demo_state):
    with new_session() as session:
        result = mobile_flow.sign_in(demo.api_url, "demo", mobile_flow.demo_browser(demo_state), session)

    assert result["user"] == {"id": result["user"]["id"], "username": "demo", "email": "demo@example.com",
                              "first_name": "Ada", "last_name": "Lovelace"}
    assert result["account"]["provider"] == "demo"
    assert result["account"]["scope"] == ["openid", "profile", "email"]
    assert {"access", "refresh"} <= result.keys()


def test_mobile_flow_rejects_another_state(demo):
    def browser_with_foreign_redirect(authorization_url, redirect_uri):
        return {"code": "stolen-code", "state": "state-of-another-flow"}

    with new_session() as session, pytest.raises(mobile_flow.FlowError, match="state"):
        mobile_flow.sign_in(demo.api_url, "demo", browser_with_foreign_redirect, session)


def test_mobile_flow_main_prints_user(demo, capsys):
    exit_code = mobile_flow.main(["--state-dir", str(demo.state_dir)])

    assert exit_code == 0
    assert capsys.readouterr().out.startswith("Signed in as demo (user ")


def test_sigint_stops_every_process(tmp_path):
    with run_demo(tmp_path) as running:
        children = child_pids(running.process.pid)
        assert len(children) == 2, running.log_tail()

        # Only the demo process gets the signal, so the children stop because it stops them.
        running.process.send_signal(signal.SIGINT)
        exit_code = running.process.wait(timeout=EXIT_TIMEOUT_SECONDS)
        deadline = time.monotonic() + EXIT_TIMEOUT_SECONDS
        while any(is_running(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)

        assert exit_code == 0, running.log_tail()
        assert [pid for pid in children if is_running(pid)] == []
