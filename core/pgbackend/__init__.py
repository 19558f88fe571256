"""Django's PostgreSQL backend, without the second index it adds for prefix searches (`base.py`)."""
