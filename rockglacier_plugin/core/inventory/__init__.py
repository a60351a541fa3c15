"""The inventory itself: schema (layers, fields, allowed values), rock-glacier ids, review
decisions and RGIK classes. Every concept package writes into this schema.

May import: the core root only (it is the spine the concept packages share, so it depends on
none of them).
"""
