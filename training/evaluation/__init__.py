"""Evaluation in one place: pixel and object metrics (``metrics``), chips (``evaluate``), scenes through the plugin's
own path (``scene_eval``), image-level detection (``image_level``), and threshold choice (``threshold``)."""
