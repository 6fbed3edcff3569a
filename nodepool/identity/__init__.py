"""Who is asking: attested documents, nonces, node credentials, and which VM of ours a hostname is."""
