"""Constants and helpers shared by the serving tests and their fixtures."""

import socket

FAST_MODELS = ["linear", "decision_tree"]
FAST_CV = 3
API_KEY = "test-key-0123456789"
API_KEY_ENV = "MW_SERVE_TEST_KEY"
#: Limits of the churn server: above the 400 rows of the churn table, small enough to test 413.
MAX_ROWS = 500
MAX_BODY_MB = 0.1


def free_port() -> int:
    """A loopback TCP port nobody listens on (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
