"""A serving certificate for the simulator, so kubectl sends its token.

kubectl (client-go's `clientcmd`) reads a kubeconfig's credentials only for an `https://`
server: over plain HTTP it sends no token, and RBAC would see `system:anonymous`. So when
kubectl must authenticate (`make run`, the kubectl tests) the simulator serves HTTPS with a
self-signed certificate for 127.0.0.1, ::1 and localhost, which the kubeconfig trusts
(`certificate-authority-data`). In-process tests keep plain HTTP (httpx and lightkube send
the token either way).

`ensure(directory)` keeps `tls.crt` and `tls.key` there and reuses them, so a restarted
simulator keeps the kubeconfig valid. It must not be used for anything but a loopback test
server.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class ServingCert:
    cert_file: Path
    key_file: Path

    @property
    def pem(self) -> bytes:
        return self.cert_file.read_bytes()


def _generate() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubedb-simulator")])
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def ensure(directory: Path) -> ServingCert:
    """The certificate in `directory`, made there (owner-only) if missing."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    if not (cert_file.exists() and key_file.exists()):
        cert_pem, key_pem = _generate()
        for path, content in ((key_file, key_pem), (cert_file, cert_pem)):
            partial = path.with_name(f".{path.name}.partial")
            partial.write_bytes(content)
            os.chmod(partial, 0o600)
            partial.replace(path)
    return ServingCert(cert_file, key_file)
