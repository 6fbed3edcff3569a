"""Microsoft's PKI host, as far as attestation needs it: `GET /pkiops/certs/<CA name>.crt` answers
the CA certificate in DER (application/pkix-cert), on www.microsoft.com and caissuers.microsoft.com.

It is reached as an HTTP proxy is (HTTP_PROXY=<this server's URL>: requests sends
`GET http://www.microsoft.com/pkiops/certs/...`), so the app fetches exactly the URLs written in
the certificates, as it does in Azure. It serves the simulated attestation CA (what the
simulator's leaves point at) and whatever a test publishes (Microsoft's real intermediates from
../shared/vectors, under their real names). Any other host or path is a 404.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import quote, unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from sim.attest import PKI_HOSTS
from sim.http import Request, Response, Server


def _cn(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)


class Pki:
    def __init__(self, certificates: Callable[[], Iterable[x509.Certificate]] = list):
        """`certificates`: asked on every request, so a chain swapped by a test is served at once."""
        self._certificates, self.published, self.answers = certificates, {}, {}
        self.server = Server([("GET|HEAD", r"/pkiops/certs/(?P<name>[^/]+)\.crt", self.certificate)])

    @property
    def url(self) -> str:
        return self.server.url

    def publish(self, cert: x509.Certificate, name: str | None = None) -> str:
        """Serve `cert` under `name` (its common name by default); the URL it is served at."""
        name = name or _cn(cert)
        self.published[name] = cert
        return f"http://{PKI_HOSTS[0]}/pkiops/certs/{quote(name)}.crt"

    def answer(self, name: str, response: Response | Callable[[Request], Response]) -> None:
        """Answer requests for `name` with `response` (a wrong body, an error; a handler may raise Hangup)."""
        self.answers[name] = response

    def certificate(self, req: Request) -> Response:
        host = (req.headers.get("Host") or "").split(":")[0].lower()
        name = unquote(req.params["name"])
        if host not in PKI_HOSTS:
            return Response(404, b"", {"Content-Type": "text/plain"})
        if name in self.answers:
            answer = self.answers[name]
            return answer(req) if callable(answer) else answer
        served = {**{_cn(c): c for c in self._certificates()}, **self.published}
        if name not in served:
            return Response(404, b"", {"Content-Type": "text/html"})
        return Response(200, served[name].public_bytes(Encoding.DER), {"Content-Type": "application/pkix-cert"})
