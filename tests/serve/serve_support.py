"""Constants and helpers shared by the serving tests and their fixtures."""

from net_support import free_port as free_port

FAST_MODELS = ["linear", "decision_tree"]
FAST_CV = 3
API_KEY = "test-key-0123456789"
API_KEY_ENV = "MW_SERVE_TEST_KEY"
#: Limits of the churn server: above the 400 rows of the churn table, small enough to test 413.
MAX_ROWS = 500
MAX_BODY_MB = 0.1
