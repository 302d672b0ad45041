"""Statistics of the findings: paired arm-vs-reference comparisons over seeds and test images.

Torch-free (the report's jobs import it; a test checks torch stays unloaded). The method
and every number's definition: docs/findings-statistics.md.

* :func:`compare_per_image` / :func:`compare_set_level`: one metric, arm minus reference,
  with a 95% interval counting seed and test-image variation (``variance``), p, P(better);
* :func:`holm`, :func:`verdict`, :func:`family_verdicts`: multiplicity and the words;
* :func:`seeds_needed`: seeds for 80% power at a level, from the same variance parts;
* ``scorers``: FID, KID and FCN scores of one run on any index set of test images.
"""

from .comparison import (
    ALPHA,
    ONE_SEED,
    Comparison,
    arm_shares_per_image,
    arm_shares_set_level,
    compare_per_image,
    compare_set_level,
    not_tested,
)
from .multiplicity import VERDICTS, family_verdicts, first_step_level, holm, verdict
from .power import POWER, SeedsNeeded, power_at, seeds_needed
from .scorers import FCNScorer, FIDScorer, KIDScorer, MeanScorer, Scorer
from .variance import VarianceParts

__all__ = [
    "ALPHA", "ONE_SEED", "POWER", "VERDICTS", "Comparison", "FCNScorer", "FIDScorer", "KIDScorer", "MeanScorer",
    "Scorer", "SeedsNeeded", "VarianceParts", "arm_shares_per_image", "arm_shares_set_level", "compare_per_image",
    "compare_set_level", "family_verdicts", "first_step_level", "holm", "not_tested", "power_at", "seeds_needed",
    "verdict",
]
