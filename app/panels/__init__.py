"""Panels, one per capability. Each module registers its panel with ``@register_panel``."""
