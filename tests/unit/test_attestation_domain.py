"""Pure attestation rules: signer names, IMDS time stamps, nonce shape."""
from datetime import datetime, timezone

import pytest

from nodepool.identity.attestation import issue, parse_time, signer_name_allowed, well_formed

SOVEREIGN = ("metadata.azure.com", "metadata.azure.us", "metadata.azure.cn")


@pytest.mark.parametrize("names, allowed, ok", [
    (["metadata.azure.com"], ("metadata.azure.com",), True),
    (["eastus.metadata.azure.com"], ("metadata.azure.com",), True),
    (["METADATA.AZURE.COM."], ("metadata.azure.com",), True),
    (["evilmetadata.azure.com"], ("metadata.azure.com",), False),
    (["metadata.azure.com.evil.example"], ("metadata.azure.com",), False),
    (["*.metadata.azure.com"], ("metadata.azure.com",), False),  # a wildcard names nobody in particular
    (["metadata.azure.us"], ("metadata.azure.com",), False),
    (["metadata.azure.us"], SOVEREIGN, True),
    (["chinanorth.metadata.azure.cn"], SOVEREIGN, True),
    ([], SOVEREIGN, False),
    (["metadata.azure.com"], (".",), False),  # an empty suffix allows nothing
])
def test_signer_names(names, allowed, ok):
    assert signer_name_allowed(names, allowed) is ok


def test_imds_time_stamps_are_utc():
    assert parse_time("11/28/18 06:16:17 -0000") == datetime(2018, 11, 28, 6, 16, 17, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        parse_time("2018-11-28T06:16:17Z")


def test_issued_nonces_fit_imds_and_only_our_shape_is_looked_up():
    record = issue("agents000001", datetime(2026, 12, 1, tzinfo=timezone.utc), ttl_s=30)
    assert well_formed(record.nonce) and len(record.nonce) == 32 and record.nonce.isalnum()
    assert (record.expires_at - record.issued_at).total_seconds() == 30
    assert not any(well_formed(n) for n in ("20261201-120000", "A" * 32, "", None, "0" * 31))
