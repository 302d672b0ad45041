"""Evaluation, one module per workflow job: the FCN segmenter (``segmenter``), the real
targets' Inception features (``features``), a run's snapshots scored (``scoring``), and
every run gathered into the tidy table (``collect``).
"""
