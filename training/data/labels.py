"""Label values of training patches and canvases.

``IGNORE_LABEL`` (the plugin's patch value, ``core.mapping.patches``): pixels without a label (landforms nobody
reviewed): no loss, no presence. ``WEAK_LABEL_BASE`` and up: the pixels of a chip known only to hold a rock glacier
somewhere (labelled per chip, no mask), one value per canvas cell: no pixel loss there, ``loop.losses.with_image_level``
asks the cell's most confident pixels to be rock glacier instead.
"""

from rockglacier_plugin.core.mapping.patches import IGNORE_LABEL

__all__ = ["IGNORE_LABEL", "WEAK_LABEL_BASE"]

WEAK_LABEL_BASE = 10
