"""In-memory fakes of the ports, for unit tests and quick local runs. Not deployed."""
