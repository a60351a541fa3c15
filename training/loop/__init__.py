"""The training loop (``train``), its losses and config checks, weight averaging (``soup``), hard-negative mining
(``mine``), and adapting the shipped model to a user's region (``adapt``, ``adapt_scores``)."""
