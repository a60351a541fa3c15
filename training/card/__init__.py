"""The model card: what is measured (``measure``, ``python -m training.card.measure``) and how it is written as
HTML (``render``)."""
