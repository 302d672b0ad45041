"""What to run next: how many more seeds the undecided differences of a comparison need, and the cost.

The cost is this run's own: the mean measured training time of each row's finished
seeds, on the device the runs recorded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from ..metrics import registry
from .sentences import verdict_kind

# beyond this many seeds per row a difference is too small to chase with seeds
MAX_SEEDS = 50


def seeds_action(rows: pd.DataFrame, reference: str, seeds_of: Mapping[str, int], hours_of: Mapping[str, float],
                 device: str = "", column: str = "seeds_needed", row_of: Mapping[str, str] | None = None) -> str | None:
    """``raise seeds of rows baseline, loss_l1 to 6: 10 more trainings, about 2.3 hours of training ...``.

    ``rows``: one comparison's findings; undecided ones ("no detectable difference") with a
    finite ``column`` ask for seeds. Those within :data:`MAX_SEEDS` decide the count: the
    arms they name and the reference all go to the largest count asked (a paired comparison
    uses the seeds both rows have); the rest are named as out of reach. ``row_of`` maps an
    arm to its table row (the saved-epochs arms are one row); ``seeds_of`` and ``hours_of``
    are per row. None when nothing undecided can be settled by seeds.
    """
    row_of = row_of or {}
    undecided = rows[(rows["verdict"].map(verdict_kind) == "no detectable difference")
                     & rows[column].map(lambda v: isinstance(v, (int, float)) and math.isfinite(v))]
    reachable = undecided[undecided[column] <= MAX_SEEDS]
    far = undecided[undecided[column] > MAX_SEEDS]
    beyond = (f"Out of reach (more than {MAX_SEEDS} seeds per row): {_listing(far)}." if not far.empty else "")
    if reachable.empty:
        return beyond or None
    wanted = int(reachable[column].max())
    table_rows = dict.fromkeys(row_of.get(arm, arm) for arm in [reference, *reachable["arm"]])
    more = {row: wanted - seeds_of[row] for row in table_rows if wanted > seeds_of[row]}
    if not more:
        return beyond or None
    hours = sum(n * hours_of.get(row, math.nan) for row, n in more.items())
    cost = f", about {hours:.2g} hours of training at this run's measured cost" if math.isfinite(hours) else ""
    on = f" ({device})" if device and cost else ""
    return (f"raise `seeds` of {'rows' if len(more) > 1 else 'row'} {', '.join(more)} to {wanted}: "
            f"{sum(more.values())} more trainings{cost}{on}. It settles {_listing(reachable)}."
            + (f" {beyond}" if beyond else ""))


def _listing(rows: pd.DataFrame) -> str:
    """``FID and KID of loss_l1, and SSIM of loss_cgan``."""
    parts = []
    for arm, part in rows.groupby("arm", sort=False):
        parts.append(f"{registry.titles(part['metric'])} of {arm}")
    return parts[0] if len(parts) == 1 else "; ".join(parts[:-1]) + "; and " + parts[-1]
