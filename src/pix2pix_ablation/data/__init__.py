"""Datasets: named ones (``registry``), fetched onto disk (``fetch``, ``synthetic``,
``cityscapes``), the files of a split (``pairs``), loaded and augmented for training and
evaluation (``loader``), and label palettes (``palette``).
"""
