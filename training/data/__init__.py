"""Data and sampling: patch and chip folders (``samples``), label conventions (``labels``), composed canvases
(``compose``), augmentation (``augment``) and the torch datasets over them (``datasets``)."""
