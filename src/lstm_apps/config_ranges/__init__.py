"""Valid values of every config key a user can set, checked before a run starts: the keys a
constructor owns from its signature (``schema.py``), the rest from ``declared.py``."""

from lstm_apps.config_ranges.check import (
    check_config,
    check_node,
    check_options,
    check_search_space,
    check_targets,
)

__all__ = ["check_config", "check_node", "check_options", "check_search_space", "check_targets"]
