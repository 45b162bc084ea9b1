"""The PostgreSQL store (`store.postgres.store.PostgresStore`): one database shared by any number of replicas.

This package file imports nothing, so its entry point (`store.postgres.plugin`)
loads without the driver, and a missing `[postgres]` extra is reported as such.
"""
