"""Views of the Autotask integration: thin — parse, call a service verb, turn its errors into a message."""
