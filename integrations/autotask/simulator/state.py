"""Simulator state: per-tenant entity stores, seeding and atomic persistence to a JSON file."""

import json
import os
import tempfile

from .tenants import TENANTS, seed_tenant

ENTITY_KEYS = ("Companies", "Tickets", "TicketNotes", "TimeEntries", "Resources")
FORMAT_VERSION = 1


def fresh_state(seed, now):
    return {t.database_id: seed_tenant(t, seed, now) for t in TENANTS}


def dump(state, seed):
    """JSON-able form: dict keys become strings, so ids are restored by `load`."""
    return {"version": FORMAT_VERSION, "seed": seed, "tenants": {str(db): data for db, data in state.items()}}


def restore(payload):
    if payload.get("version") != FORMAT_VERSION:
        raise ValueError("Unsupported simulator state file version.")
    state = {}
    for db, data in payload["tenants"].items():
        for key in ENTITY_KEYS:
            data[key] = {int(i): rec for i, rec in data.get(key, {}).items()}
        state[int(db)] = data
    return state, payload.get("seed")


def load_file(path):
    with open(path, encoding="utf-8") as fh:
        return restore(json.load(fh))


def save_file(path, state, seed):
    """Write atomically: a temp file in the same directory, then os.replace."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".simulator-state-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(dump(state, seed), fh, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
