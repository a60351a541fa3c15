"""QGIS-side helpers that both adapters use: the Processing provider (``processing``) and the review dock
(``gui``). Neither adapter imports the other (``tests/test_code_shape.py`` forbids it); what both need lives
here: the inventory style, QGIS fields from the schema, and features read into plain values for the core."""
