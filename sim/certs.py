"""Certificates shaped like Azure's attestation chain (read from the real ones in
../shared/vectors/azure-attested/): a root without EKU; an issuing CA with path length 0, serverAuth
only and AIA pointing at its issuer; a TLS leaf for the metadata names (serverAuth only, key usage
digitalSignature + keyEncipherment, CA:false, AIA caIssuers + OCSP). CAs sign with SHA-384 like Microsoft's.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

OCSP_URL = "http://oneocsp.microsoft.com/ocsp"


def _name(common_name: str, organization: str = "k3s spot-pool simulator") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, key_cert_sign=ca, crl_sign=ca, content_commitment=False,
                         key_encipherment=not ca, data_encipherment=False, key_agreement=False,
                         encipher_only=False, decipher_only=False)


def _aia(issuer_urls: Sequence[str], ocsp: bool) -> x509.AuthorityInformationAccess:
    found = [x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(OCSP_URL))]
    return x509.AuthorityInformationAccess((found if ocsp else []) + [x509.AccessDescription(
        AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(u)) for u in issuer_urls])


def _builder(subject: x509.Name, key, issuer: str, issuer_key, start: dt.datetime, end: dt.datetime):
    public = key.public_key()
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(_name(issuer)).public_key(public)
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                           critical=False))


def ca_certificate(subject: str, key, issuer: str, issuer_key, *, start: dt.datetime, end: dt.datetime,
                   path_length: int | None = None, server_auth_only: bool = False,
                   issuer_urls: Sequence[str] = ()) -> x509.Certificate:
    builder = (_builder(_name(subject), key, issuer, issuer_key, start, end)
               .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
               .add_extension(_usage(ca=True), critical=True))
    if server_auth_only:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if issuer_urls:
        builder = builder.add_extension(_aia(issuer_urls, ocsp=False), critical=False)
    return builder.sign(issuer_key, hashes.SHA384())


def tls_leaf(dns_names: Sequence[str], key, issuer: str, issuer_key, *, start: dt.datetime, end: dt.datetime,
             issuer_urls: Sequence[str] = ()) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                         x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "WA"),
                         x509.NameAttribute(NameOID.LOCALITY_NAME, "Redmond"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "k3s spot-pool simulator"),
                         x509.NameAttribute(NameOID.COMMON_NAME, dns_names[-1])])
    builder = (_builder(subject, key, issuer, issuer_key, start, end)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(_usage(ca=False), critical=True)
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    if issuer_urls:
        builder = builder.add_extension(_aia(issuer_urls, ocsp=True), critical=False)
    return builder.sign(issuer_key, hashes.SHA384())
