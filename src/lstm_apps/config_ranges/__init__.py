"""Valid values of every config key a user can set, declared once and checked before a run starts."""

from lstm_apps.config_ranges.check import check_config, check_predict_options, check_search_space

__all__ = ["check_config", "check_predict_options", "check_search_space"]
