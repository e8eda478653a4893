"""One module per kind of AWS resource, each with find / ensure / delete, idempotent and tagged."""
