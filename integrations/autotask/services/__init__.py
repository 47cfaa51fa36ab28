"""The only code that combines the ORM and the Autotask client.

Views, admin actions, management commands and tasks call these functions; each documents what it
guarantees when called twice and what it raises (always an `AutotaskError` subclass).
"""
