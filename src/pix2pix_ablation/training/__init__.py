"""Training one experiment x seed: the step and the loop (``trainer``), the checkpoints it
leaves (``checkpoint``), its loss log (``losslog``), when a failed job is retried
(``retries``), and its measured cost (``throughput``, ``model_summary``).
"""
