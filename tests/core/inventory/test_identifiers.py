"""Ids of new candidates continue after an existing inventory's and never collide."""

from rockglacier_plugin.core.inventory.identifiers import assign_ids, ids_after


def test_ids_after__continue_after_the_highest_existing_number():
    assert ids_after(["wkl003", "wkl041", "other7"], 3, "wkl") == ["wkl042", "wkl043", "wkl044"]


def test_ids_after__never_reuse_an_existing_id_with_another_padding():
    new = ids_after(["rg7", "rg008"], 2, "rg")
    assert set(new).isdisjoint({"rg7", "rg008"}) and new == ["rg009", "rg010"]


def test_ids_after__an_empty_inventory_starts_at_one():
    assert ids_after([], 2, "wkl") == ["wkl001", "wkl002"]


def test_assign_ids__merged_inventory_has_no_duplicate():
    existing = ["wkl001", "wkl002"]
    merged = existing + ids_after(existing, 5, "wkl")
    assert len(set(assign_ids(merged, "wkl"))) == 7
