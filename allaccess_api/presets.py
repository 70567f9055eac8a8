"""Known providers' settings (``presets.json``), applied by ``providers set --preset``."""

import copy
import functools
import json
from pathlib import Path

PRESETS_FILE = Path(__file__).with_name("presets.json")
# Keys of a preset that document it and are not stored on the provider.
DOCUMENTATION_KEYS = ("docs_url", "comment")


@functools.cache
def load_presets():
    """Return every preset, by name, as read from ``presets.json``."""
    with PRESETS_FILE.open(encoding="utf-8") as presets_file:
        return json.load(presets_file)


def preset_names():
    return sorted(load_presets())


def get_preset(name):
    """Return the ``Provider`` field values of preset ``name``; raise ``KeyError`` for an unknown name."""
    preset = load_presets()[name]
    return {key: copy.deepcopy(value) for key, value in preset.items() if key not in DOCUMENTATION_KEYS}


def preset_docs_url(name):
    return load_presets()[name]["docs_url"]
