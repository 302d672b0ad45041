"""The experiment design, read and checked: one config row -> one resolved
:class:`~.experiment.ExperimentConfig` (``experiment``), the experiments table
(``experiments``), the comparisons the table implies (``comparisons``), the JSON schemas
(``schema``), the one YAML reader (``safe_yaml``) and the limits on input (``bounds``).
"""
