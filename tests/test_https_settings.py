"""COLLAB_HTTPS: cookies only over HTTPS and HSTS, read from the environment
at start, so checked in a fresh process of its own."""

import json
import subprocess
import sys

from tests.procs import ROOT

PROBE = """
import json, django
django.setup()
from django.test import Client
response = Client().get("/accounts/login/", secure=True)
cookie = response.cookies["csrftoken"]
print(json.dumps({"hsts": response.headers.get("Strict-Transport-Security"),
                  "csp": response.headers.get("Content-Security-Policy"),
                  "csrf_secure": bool(cookie["secure"])}))
"""


def probe(**env: str) -> dict:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COLLAB_H")}
    full_env.update(env)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=full_env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_https_makes_cookies_secure_and_sends_hsts():
    served = probe(COLLAB_HTTPS="true")
    assert served["csrf_secure"] is True
    assert served["hsts"] == "max-age=31536000"
    assert "script-src 'self'" in served["csp"]


def test_plain_http_by_default():
    served = probe()
    assert served["csrf_secure"] is False and served["hsts"] is None
