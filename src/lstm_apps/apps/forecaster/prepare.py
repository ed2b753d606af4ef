"""Write a series that ships with statsmodels to data/forecaster/<name>.csv.

    lstm-apps prepare forecaster co2          # weekly Mauna Loa CO2, 1958-2001 (ppm)
    lstm-apps prepare forecaster sunspots     # yearly sunspot activity, 1700-2008

Nothing is downloaded: training with ``data/series=co2`` or ``sunspots`` writes the same file on
first use. Preparing it up front gives a CSV in the format ``data/series=csv_file`` and
``lstm-apps predict input_file=…`` read, to look at, edit or cut.
"""

from __future__ import annotations

from pathlib import Path

from lstm_apps.apps.forecaster.time_series import write_statsmodels_series
from lstm_apps.errors import UserError

DATASETS = {
    "co2": "weekly Mauna Loa CO2, 1958-2001, from statsmodels (no download)",
    "sunspots": "yearly sunspot activity, 1700-2008, from statsmodels (no download)",
}


def prepare(name: str, out_dir: Path, base_url: str | None = None) -> dict[str, Path]:
    """Write ``out_dir/<name>.csv`` (kept if it exists); return ``{"series": path}``."""
    if name not in DATASETS:
        raise UserError(f"unknown series '{name}' (available: {', '.join(DATASETS)})")
    if base_url is not None:
        raise UserError(f"{name} ships with statsmodels: there is nothing to download, drop --base-url")
    return {"series": write_statsmodels_series(name, out_dir)}
