"""tls — a throw-away self-signed certificate for 127.0.0.1 and localhost, made
at run time with the openssl command (no key is ever committed), once per
process.

Subtle: the certificate is its own CA: give its path to the client as the
CA file (libcurl CURLOPT_CAINFO, Python ssl cafile). The folder is removed
when the process exits.
"""

import atexit
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

_lock = threading.Lock()
_made = {}


def test_certificate():
    """(cert_path, key_path) of a certificate valid for IP:127.0.0.1 and
    DNS:localhost for two days (EC P-256: quick to make)."""
    with _lock:
        if "pair" not in _made:
            d = Path(tempfile.mkdtemp(prefix="carebus-emu-tls-"))
            atexit.register(shutil.rmtree, d, True)
            cert, key = d / "cert.pem", d / "key.pem"
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
                 "-days", "2", "-subj", "/CN=127.0.0.1",
                 "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                 "-addext", "basicConstraints=critical,CA:TRUE"],
                check=True, capture_output=True, timeout=30)
            key.chmod(0o600)
            _made["pair"] = (str(cert), str(key))
        return _made["pair"]
