"""The inventory's report: the paper's tables, its figures (altitude, aspect, velocity per class and
a map overview) and the HTML page that shows them.

May import: the foundation, the root, and ``inventory`` (the statistics, classes and colours it
presents). matplotlib (Agg, no display) draws the figures.
"""
